// A small XML reader for OpenCV cascade files: elements with text, no attributes kept, comments and
// processing instructions skipped. Enough for `opencv_storage` files; not a general XML parser.
import Foundation

/// One XML element: its tag name, its text (concatenated character data) and its child elements.
final class XMLElementNode {
    let name: String
    var text: String = ""
    var children: [XMLElementNode] = []
    init(name: String) { self.name = name }

    func child(_ name: String) -> XMLElementNode? { children.first { $0.name == name } }

    /// Text of a child, trimmed.
    func value(_ name: String) -> String? {
        child(name)?.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The whitespace-separated numbers of this element's text.
    func numbers() -> [Double] {
        text.split(whereSeparator: { $0.isWhitespace }).compactMap { Double($0) }
    }
}

struct MiniXMLError: Error, CustomStringConvertible {
    let description: String
}

enum MiniXML {
    /// Parses `bytes` into a root element holding the document's top-level elements.
    static func parse(_ bytes: [UInt8], source: String) throws -> XMLElementNode {
        let root = XMLElementNode(name: "#document")
        var stack: [XMLElementNode] = [root]
        var i = 0
        let n = bytes.count
        func starts(_ s: String, at k: Int) -> Bool {
            let u = Array(s.utf8)
            if k + u.count > n { return false }
            for j in 0..<u.count where bytes[k + j] != u[j] { return false }
            return true
        }
        func find(_ s: String, from k: Int) -> Int? {
            let u = Array(s.utf8)
            var p = k
            while p + u.count <= n {
                if bytes[p] == u[0] {
                    var ok = true
                    for j in 1..<u.count where bytes[p + j] != u[j] { ok = false; break }
                    if ok { return p }
                }
                p += 1
            }
            return nil
        }
        var textStart = 0
        while i < n {
            if bytes[i] != UInt8(ascii: "<") { i += 1; continue }
            // Flush character data to the current element.
            if i > textStart, let top = stack.last {
                top.text += String(decoding: bytes[textStart..<i], as: UTF8.self)
            }
            if starts("<!--", at: i) {
                guard let e = find("-->", from: i + 4) else { throw MiniXMLError(description: "\(source): unterminated comment") }
                i = e + 3
            } else if starts("<?", at: i) || starts("<!", at: i) {
                guard let e = find(">", from: i) else { throw MiniXMLError(description: "\(source): unterminated declaration") }
                i = e + 1
            } else if starts("</", at: i) {
                guard let e = find(">", from: i) else { throw MiniXMLError(description: "\(source): unterminated end tag") }
                let name = String(decoding: bytes[(i + 2)..<e], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                guard stack.count > 1, stack.last!.name == name else {
                    throw MiniXMLError(description: "\(source): end tag </\(name)> does not match <\(stack.last!.name)>")
                }
                stack.removeLast()
                i = e + 1
            } else {
                guard let e = find(">", from: i) else { throw MiniXMLError(description: "\(source): unterminated tag") }
                var body = String(decoding: bytes[(i + 1)..<e], as: UTF8.self)
                let selfClosing = body.hasSuffix("/")
                if selfClosing { body.removeLast() }
                let name = String(body.split(whereSeparator: { $0.isWhitespace }).first ?? "")
                let node = XMLElementNode(name: name)
                stack.last!.children.append(node)
                if !selfClosing { stack.append(node) }
                i = e + 1
            }
            textStart = i
        }
        guard stack.count == 1 else { throw MiniXMLError(description: "\(source): element <\(stack.last!.name)> is not closed") }
        return root
    }
}
