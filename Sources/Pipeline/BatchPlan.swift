import Foundation
import Media

/// One input of a batch and where its rows go.
public struct BatchItem: Sendable, Equatable {
    /// The video's name without extension, or the crop folder's name: the output's name.
    public let name: String
    public let path: String
    public let kind: PipelineInput.Kind
    /// A crop folder's audio file (from the audio folder), nil when there is none.
    public let audio: String?
    /// Where its rows go: one file, or one per head (`OUT/<head>/<name>.txt`, ABAW files of several heads).
    public let outputs: [String]
    /// The (first) output.
    public var output: String { outputs[0] }
}

/// The inputs of a folder (`emopipe batch IN OUT`): its videos and its crop folders (an Aff-Wild2 cropped_aligned
/// root), each with its output `OUT/<name>.<ext>`. Two inputs that would write the same output are refused before
/// any work; OUT inside IN is not an input (so a rerun works). With `headFolders`, each input has one output per
/// head folder, `OUT/<folder>/<name>.<ext>` (ABAW files hold one head's values).
public enum BatchPlan {
    public static func items(inputs: String, outputs: String, outputExtension: String, audioFolder: String?,
                             headFolders: [String]? = nil) throws -> [BatchItem] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: inputs, isDirectory: &isDir) else {
            throw PipelineError(inputs, "no such folder", remedy: "give the folder of videos or crop folders")
        }
        guard isDir.boolValue else {
            throw PipelineError(inputs, "is a file, not a folder", remedy: "for one video use `emopipe \(inputs)`")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: inputs).sorted() } catch {
            throw PipelineError(inputs, "cannot be listed (\(OneLine.reason(for: error)))", remedy: "check its permissions")
        }
        var outputsStat = stat()
        let outputsExist = stat(outputs, &outputsStat) == 0
        let audioFiles = audioFolder.map { (try? FileManager.default.contentsOfDirectory(atPath: $0))?.sorted() ?? [] } ?? []

        var items: [BatchItem] = []
        for name in names where !name.hasPrefix(".") {
            let path = (inputs as NSString).appendingPathComponent(name)
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            let isFolder = st.st_mode & S_IFMT == S_IFDIR
            if isFolder && outputsExist && st.st_dev == outputsStat.st_dev && st.st_ino == outputsStat.st_ino { continue }
            let stem: String
            if isFolder {
                stem = name
            } else {
                guard PipelineInput.videoExtensions.contains((name as NSString).pathExtension.lowercased()) else { continue }
                stem = (name as NSString).deletingPathExtension
            }
            let audio = isFolder ? audioFolder.flatMap { audioFile(for: stem, in: $0, files: audioFiles) } : nil
            let folders = headFolders.map { $0.map { (outputs as NSString).appendingPathComponent($0) } } ?? [outputs]
            items.append(BatchItem(name: stem, path: path, kind: isFolder ? .cropFolder : .video, audio: audio,
                                   outputs: folders.map { ($0 as NSString).appendingPathComponent("\(stem).\(outputExtension)") }))
        }
        let clashes = Dictionary(grouping: items, by: \.output).filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
        if let (output, same) = clashes.first {
            let list = same.map { ($0.path as NSString).lastPathComponent + ($0.kind == .cropFolder ? "/" : "") }
            throw PipelineError(inputs, "\(list.joined(separator: " and ")) would both write \(output)"
                                + (clashes.count > 1 ? " (and \(clashes.count - 1) more such clash(es))" : ""),
                                remedy: "rename or move all but one of them")
        }
        return items
    }

    /// The names a crop folder's files go by: its own, then for Aff-Wild2's `<video>_left` / `<video>_right` (two
    /// faces of one video) the video's.
    static func stems(of name: String) -> [String] {
        [name] + ["_left", "_right"].filter { name.hasSuffix($0) }.map { String(name.dropLast($0.count)) }
    }

    /// The audio file of a crop folder: `<name>.*` in the audio folder, or the base video's for Aff-Wild2's
    /// `<video>_left` / `<video>_right`.
    static func audioFile(for name: String, in folder: String, files: [String]) -> String? {
        for stem in stems(of: name) {
            if let f = files.first(where: { !$0.hasPrefix(".") && ($0 as NSString).deletingPathExtension == stem }) {
                return (folder as NSString).appendingPathComponent(f)
            }
        }
        return nil
    }

    /// An input's frame count, for balancing shards: a crop folder's highest crop number; a video's declared frame
    /// count, else its duration × frame rate (read from the container, nothing decoded); nil when it cannot be read
    /// (the input then fails when it is run).
    public static func frameCount(of item: BatchItem, frameRate: Double) -> Int? {
        switch item.kind {
        case .cropFolder:
            return (try? ImageSequence(folder: item.path, frameRate: frameRate))?.frameCount
        case .video:
            return (try? VideoDecoder(path: item.path))?.info.estimatedFrameCount
        }
    }
}
