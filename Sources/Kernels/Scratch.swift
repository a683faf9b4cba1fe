/// A reusable float buffer for intermediate results (im2col tiles, activations). It only grows, so once a model has
/// run on its largest batch, forwards allocate nothing. Owned by one worker at a time; never shared between threads.
public final class ScratchBuffer {
    public private(set) var capacity: Int = 0
    private var storage: UnsafeMutablePointer<Float>?

    public init(capacity: Int = 0) { if capacity > 0 { _ = reserve(capacity) } }

    /// A pointer to at least `count` floats (contents unspecified; previous contents are lost when it grows).
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity || storage == nil {
            storage.map { UnsafeMutableRawPointer($0).deallocate() }
            let n = max(count, 1)
            let raw = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<Float>.stride, alignment: 64)
            storage = raw.bindMemory(to: Float.self, capacity: n)
            storage!.initialize(repeating: 0, count: n)
            capacity = n
        }
        return storage!
    }

    deinit { storage.map { UnsafeMutableRawPointer($0).deallocate() } }
}
