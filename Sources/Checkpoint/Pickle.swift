import Foundation

/// An error while reading a checkpoint. The message names the file (when known) and what to do.
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Values

/// Containers are classes: Python shares them by reference (the memo hands out the same list twice and later
/// opcodes append to it). Every container made while reading a file is also registered in a `PickleArena`,
/// which empties them all when it goes away, so even a hostile million-deep nesting is released one object
/// at a time instead of by a recursive chain of deinitializers that would overflow the stack.
protocol PickleContainer: AnyObject {
    func removeChildren()
}

/// Keeps every container of one file alive and tears them down flat (see `PickleContainer`).
/// Values read from a file stay valid while the arena that read them is alive.
public final class PickleArena {
    private var containers: [any PickleContainer] = []
    public init() {}
    func register<C: PickleContainer>(_ c: C) -> C { containers.append(c); return c }
    deinit { for c in containers { c.removeChildren() } }
}

/// A Python tuple.
public final class PickleTuple: PickleContainer {
    public private(set) var items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
    func removeChildren() { items = [] }
}

/// A Python list.
public final class PickleList: PickleContainer {
    public internal(set) var items: [PickleValue] = []
    init(_ items: [PickleValue] = []) { self.items = items }
    func removeChildren() { items = [] }
}

/// A Python dict or `collections.OrderedDict`, keeping insertion order (which is the state-dict order).
public final class PickleDict: PickleContainer {
    public private(set) var keys: [PickleValue] = []
    public private(set) var values: [PickleValue] = []
    private var stringIndex: [String: Int] = [:]
    public let ordered: Bool

    init(ordered: Bool) { self.ordered = ordered }

    func removeChildren() { keys = []; values = [] }

    private var intIndex: [Int64: Int] = [:]
    private var otherKeys = 0

    func set(_ key: PickleValue, _ value: PickleValue) throws {
        switch key {
        case .string(let s):
            if let i = stringIndex[s] { values[i] = value; return }
            stringIndex[s] = keys.count
        case .int(let v):
            // Optimizer state is keyed by parameter number.
            if let i = intIndex[v] { values[i] = value; return }
            intIndex[v] = keys.count
        case .bool, .none, .float, .tuple, .bytes, .bigInt:
            // Rare key kinds (never in a state dict) are kept as they come, without merging equal keys.
            otherKeys += 1
            guard otherKeys <= 10_000 else { throw CheckpointError("a dict has more than 10000 keys that are not strings or ints") }
        default:
            throw CheckpointError("a dict key of kind \(key.kindName) is not hashable data")
        }
        keys.append(key)
        values.append(value)
    }

    public var count: Int { keys.count }

    public subscript(_ key: String) -> PickleValue? {
        stringIndex[key].map { values[$0] }
    }
}

/// The element types a torch storage can hold, named by their `torch.*Storage` class.
public enum StorageDType: String, Sendable, CaseIterable {
    case float32 = "FloatStorage", float16 = "HalfStorage", bfloat16 = "BFloat16Storage", float64 = "DoubleStorage"
    case int64 = "LongStorage", int32 = "IntStorage", uint8 = "ByteStorage", bool = "BoolStorage"

    public var byteSize: Int {
        switch self {
        case .float32, .int32: 4
        case .float16, .bfloat16: 2
        case .float64, .int64: 8
        case .uint8, .bool: 1
        }
    }

    public var torchName: String {
        switch self {
        case .float32: "float32"
        case .float16: "float16"
        case .bfloat16: "bfloat16"
        case .float64: "float64"
        case .int64: "int64"
        case .int32: "int32"
        case .uint8: "uint8"
        case .bool: "bool"
        }
    }
}

/// The only callables and classes a checkpoint may name. Each is interpreted by this reader as plain data
/// construction; nothing named by a file is ever looked up or run.
public enum PickleGlobal: Equatable, Sendable {
    case orderedDict                 // collections.OrderedDict
    case rebuildTensorV2             // torch._utils._rebuild_tensor_v2
    case rebuildTensor               // torch._utils._rebuild_tensor
    case rebuildParameter            // torch._utils._rebuild_parameter
    case rebuildParameterWithState   // torch._utils._rebuild_parameter_with_state
    case storageType(StorageDType)   // torch.FloatStorage, …
    case numpyScalar                 // numpy.core.multiarray.scalar: a float/int saved beside the weights
    case numpyDType                  // numpy.dtype
    case codecsEncode                // _codecs.encode: how protocol 2 spells `bytes` (latin-1 only)

    /// `module.name` → the allowed global, or nil.
    static func lookup(module: String, name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"): return .numpyScalar
        case ("numpy", "dtype"): return .numpyDType
        case ("_codecs", "encode"): return .codecsEncode
        case ("torch", _): return StorageDType(rawValue: name).map { .storageType($0) }
        default: return nil
        }
    }
}

/// A storage named by a persistent id: which blob holds it, its element type and element count.
public struct StorageRef: Sendable, Equatable {
    public let key: String
    public let dtype: StorageDType
    public let count: Int
}

/// A tensor as pickled: a view (offset, sizes, strides, in elements) on a storage.
public struct TensorRef: Sendable, Equatable {
    public let storage: StorageRef
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
}

/// What an unpickled object can be. Containers are reference types, as in Python.
public enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case bigInt([UInt8])        // little-endian two's complement, wider than 64 bits
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    case global(PickleGlobal)
    case storage(StorageRef)
    case tensor(TensorRef)
    case numpyDType(String)
    case numpyScalar(dtype: String, bytes: [UInt8])
    /// An object of a class not on the list, kept only as its class name (when
    /// `PickleLimits.keepUnknownObjectsInert` is set). Nothing of it is constructed or called.
    case opaque(String)

    public var kindName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global: "class/function"
        case .storage: "storage"
        case .tensor: "tensor"
        case .numpyDType: "numpy dtype"
        case .numpyScalar: "numpy scalar"
        case .opaque(let name): "\(name) object"
        }
    }

    var asInt: Int? {
        switch self {
        case .int(let v): Int(exactly: v)
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    var asIntArray: [Int]? {
        guard case .tuple(let t) = self else { return nil }
        var out: [Int] = []
        for item in t.items {
            guard let v = item.asInt else { return nil }
            out.append(v)
        }
        return out
    }
}

// MARK: - Unpickler

/// Bounds that keep a hostile file from exhausting memory or time.
public struct PickleLimits: Sendable {
    /// Items on the stack plus items pending under marks.
    public var maxStack = 1_000_000
    /// Open MARKs (nesting of tuples/lists/dicts under construction).
    public var maxMarks = 1_000
    /// Memo entries and the largest memo index.
    public var maxMemo = 1_000_000
    /// Opcodes executed.
    public var maxOps = 50_000_000
    /// Largest single string/bytes object.
    public var maxObjectBytes = 64 << 20
    /// Widest LONG4 integer in bytes.
    public var maxLongBytes = 64
    /// Tensor rank.
    public var maxRank = 16
    /// When false (the default), a GLOBAL naming anything not on `PickleGlobal`'s list is an error.
    /// When true, such a name becomes an inert placeholder (`.opaque`): calling, instantiating or setting state
    /// on it gives another placeholder and items appended to it are dropped. Nothing from the file is run
    /// either way; this only lets a checkpoint that stores, say, its training arguments beside the weights be
    /// read. A placeholder inside the state dict is never a tensor, so it cannot pass as weights.
    public var keepUnknownObjectsInert = false
    public init() {}
}

/// A restricted reader of Python pickles (protocols 2–5 as written by `torch.save`).
///
/// It builds plain data (numbers, strings, tuples, lists, dicts, tensor descriptions) and nothing else:
/// every GLOBAL not on `PickleGlobal`'s list is refused with an error naming it, REDUCE/BUILD work only
/// on those globals, and nothing named by the file is executed. Sizes declared by the file are checked
/// against the bytes actually present before anything is allocated.
public struct Unpickler {
    public typealias PersistentLoad = (PickleValue) throws -> PickleValue

    private let bytes: UnsafeRawBufferPointer
    public private(set) var position: Int
    private let persistentLoad: PersistentLoad?
    private let limits: PickleLimits
    private let context: String
    private let arena: PickleArena

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// `bytes` stays valid for the reader's life; reading starts at `position`.
    public init(bytes: UnsafeRawBufferPointer, position: Int = 0, context: String, limits: PickleLimits = PickleLimits(),
                arena: PickleArena, persistentLoad: PersistentLoad?) {
        self.arena = arena
        self.bytes = bytes
        self.position = position
        self.context = context
        self.limits = limits
        self.persistentLoad = persistentLoad
    }

    private func fail(_ why: String) -> CheckpointError {
        CheckpointError("\(context): \(why)")
    }

    // Raw reads, each checked against the end of the buffer.
    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("the pickle ends early (truncated file?)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - position else {
            throw fail("an object declares \(n) bytes but only \(bytes.count - position) remain (truncated or corrupt file)")
        }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position ..< position + n])
    }

    private mutating func uint(_ n: Int) throws -> UInt64 {
        let raw = try take(n)
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(raw[i]) << (8 * UInt64(i)) }
        return v
    }

    private mutating func line() throws -> String {
        var end = position
        while end < bytes.count, bytes[end] != 0x0A {
            end += 1
            if end - position > 1024 { throw fail("a GLOBAL name is longer than 1024 bytes") }
        }
        guard end < bytes.count else { throw fail("the pickle ends inside a GLOBAL name") }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
        position = end + 1
        return s
    }

    private mutating func sized(_ n: UInt64) throws -> UnsafeRawBufferPointer {
        guard n <= UInt64(limits.maxObjectBytes) else { throw fail("an object declares \(n) bytes, more than the \(limits.maxObjectBytes) allowed") }
        return try take(Int(n))
    }

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < limits.maxStack else { throw fail("the pickle stack exceeds \(limits.maxStack) items") }
        stack.append(v)
    }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast(), stack.count >= (marks.last ?? 0) else {
            throw fail("the pickle pops from an empty stack (corrupt file)")
        }
        return v
    }

    private func top() throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw fail("the pickle reads an empty stack (corrupt file)") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("the pickle closes a MARK that was never opened (corrupt file)") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func memoPut(_ index: Int) throws {
        guard index >= 0, index < limits.maxMemo else { throw fail("memo index \(index) is out of range (limit \(limits.maxMemo))") }
        guard memo.count < limits.maxMemo || memo[index] != nil else { throw fail("the memo exceeds \(limits.maxMemo) entries") }
        memo[index] = try top()
    }

    private func memoGet(_ index: Int) throws -> PickleValue {
        guard let v = memo[index] else { throw fail("memo index \(index) was never stored (corrupt file)") }
        return v
    }

    private func string(_ raw: UnsafeRawBufferPointer) throws -> String {
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail("a string is not valid UTF-8") }
        return s
    }

    /// Little-endian two's complement → Int64 when it fits, else the raw bytes.
    private static func long(_ raw: UnsafeRawBufferPointer) -> PickleValue {
        if raw.isEmpty { return .int(0) }
        if raw.count <= 8 {
            var v: UInt64 = 0
            for i in 0..<raw.count { v |= UInt64(raw[i]) << (8 * UInt64(i)) }
            if raw.count < 8, raw[raw.count - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(raw.count)) }
            return .int(Int64(bitPattern: v))
        }
        return .bigInt(Array(raw))
    }

    /// Reads one pickle up to its STOP opcode and returns the object; `position` is then just past STOP.
    public mutating func load() throws -> PickleValue {
        var ops = 0
        while true {
            ops += 1
            guard ops <= limits.maxOps else { throw fail("the pickle runs more than \(limits.maxOps) opcodes") }
            let op = try byte()
            switch op {
            case 0x80: // PROTO
                let p = try byte()
                guard p >= 2, p <= 5 else { throw fail("pickle protocol \(p) is not supported (torch.save writes 2–5)") }
            case 0x95: // FRAME: only a length hint
                _ = try uint(8)
            case 0x2E: // STOP
                guard marks.isEmpty, stack.count == 1 else { throw fail("the pickle stops with \(stack.count) objects on the stack (corrupt file)") }
                return stack.removeLast()
            case 0x28: // MARK
                guard marks.count < limits.maxMarks else { throw fail("the pickle nests deeper than \(limits.maxMarks) levels") }
                marks.append(stack.count)
            case 0x30: // POP
                if let m = marks.last, m == stack.count { marks.removeLast() } else { _ = try pop() }
            case 0x31: // POP_MARK
                _ = try popMark()
            case 0x32: // DUP
                try push(try top())
            case 0x4E: try push(.none)                       // NONE
            case 0x88: try push(.bool(true))                 // NEWTRUE
            case 0x89: try push(.bool(false))                // NEWFALSE
            case 0x4A: // BININT
                try push(.int(Int64(Int32(bitPattern: UInt32(try uint(4))))))
            case 0x4B: try push(.int(Int64(try uint(1))))    // BININT1
            case 0x4D: try push(.int(Int64(try uint(2))))    // BININT2
            case 0x8A: // LONG1
                let n = Int(try byte())
                try push(Self.long(try take(n)))
            case 0x8B: // LONG4
                let n = Int32(bitPattern: UInt32(try uint(4)))
                guard n >= 0, Int(n) <= limits.maxLongBytes else { throw fail("an integer declares \(n) bytes (limit \(limits.maxLongBytes))") }
                try push(Self.long(try take(Int(n))))
            case 0x47: // BINFLOAT (big-endian)
                let raw = try take(8)
                var v: UInt64 = 0
                for i in 0..<8 { v = v << 8 | UInt64(raw[i]) }
                try push(.float(Double(bitPattern: v)))
            case 0x58: try push(.string(try string(try sized(try uint(4)))))       // BINUNICODE
            case 0x8C: try push(.string(try string(try sized(UInt64(try byte()))))) // SHORT_BINUNICODE
            case 0x8D: try push(.string(try string(try sized(try uint(8)))))       // BINUNICODE8
            case 0x54: // BINSTRING (Python 2 str): signed length
                let n = Int32(bitPattern: UInt32(try uint(4)))
                guard n >= 0 else { throw fail("a string declares a negative length") }
                try push(.string(String(decoding: try sized(UInt64(n)), as: UTF8.self)))
            case 0x55: try push(.string(String(decoding: try sized(UInt64(try byte())), as: UTF8.self))) // SHORT_BINSTRING
            case 0x43: try push(.bytes(Array(try sized(UInt64(try byte())))))      // SHORT_BINBYTES
            case 0x42: try push(.bytes(Array(try sized(try uint(4)))))             // BINBYTES
            case 0x8E: try push(.bytes(Array(try sized(try uint(8)))))             // BINBYTES8
            case 0x29: try push(tuple([]))                                         // EMPTY_TUPLE
            case 0x74: try push(tuple(try popMark()))                              // TUPLE
            case 0x85: let a = try pop(); try push(tuple([a]))                     // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try push(tuple([a, b]))   // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(tuple([a, b, c])) // TUPLE3
            case 0x5D: try push(.list(arena.register(PickleList())))               // EMPTY_LIST
            case 0x6C: try push(.list(arena.register(PickleList(try popMark()))))  // LIST
            case 0x61: // APPEND
                let v = try pop()
                if limits.keepUnknownObjectsInert, case .opaque = try top() { break }
                guard case .list(let l) = try top() else { throw fail("APPEND to a \(try top().kindName), not a list") }
                l.items.append(v)
            case 0x65: // APPENDS
                let items = try popMark()
                if limits.keepUnknownObjectsInert, case .opaque = try top() { break }
                guard case .list(let l) = try top() else { throw fail("APPENDS to a \(try top().kindName), not a list") }
                l.items.append(contentsOf: items)
            case 0x7D: try push(.dict(arena.register(PickleDict(ordered: false)))) // EMPTY_DICT
            case 0x64: // DICT
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("DICT with an odd number of items") }
                let d = arena.register(PickleDict(ordered: false))
                for i in stride(from: 0, to: items.count, by: 2) { try d.set(items[i], items[i + 1]) }
                try push(.dict(d))
            case 0x73: // SETITEM
                let v = try pop(), k = try pop()
                if limits.keepUnknownObjectsInert, case .opaque = try top() { break }
                guard case .dict(let d) = try top() else { throw fail("SETITEM on a \(try top().kindName), not a dict") }
                try d.set(k, v)
            case 0x75: // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
                if limits.keepUnknownObjectsInert, case .opaque = try top() { break }
                guard case .dict(let d) = try top() else { throw fail("SETITEMS on a \(try top().kindName), not a dict") }
                for i in stride(from: 0, to: items.count, by: 2) { try d.set(items[i], items[i + 1]) }
            case 0x63: // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                try push(try resolve(module, name))
            case 0x93: // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case .string(let module) = m, case .string(let name) = n else { throw fail("STACK_GLOBAL without two strings") }
                try push(try resolve(module, name))
            case 0x52: // REDUCE
                let args = try pop(), callable = try pop()
                try push(try reduce(callable, args))
            case 0x81: // NEWOBJ: cls.__new__(cls, *args), only for OrderedDict
                let args = try pop(), cls = try pop()
                if case .opaque(let name) = cls { try push(.opaque(name)); break }
                guard case .global(.orderedDict) = cls, case .tuple(let a) = args, a.items.isEmpty else {
                    throw fail("NEWOBJ of a \(cls.kindName) is not allowed")
                }
                try push(.dict(arena.register(PickleDict(ordered: true))))
            case 0x92: // NEWOBJ_EX: only for placeholders
                let kwargs = try pop(), args = try pop(), cls = try pop()
                _ = (kwargs, args)
                guard case .opaque(let name) = cls else { throw fail("NEWOBJ_EX of a \(cls.kindName) is not allowed") }
                try push(.opaque(name))
            case 0x62: // BUILD: set state on the object below
                let state = try pop()
                try build(try top(), state)
            case 0x51: // BINPERSID
                let pid = try pop()
                guard let persistentLoad else { throw fail("a persistent id appears where none is allowed") }
                try push(try persistentLoad(pid))
            case 0x71: try memoPut(Int(try byte()))          // BINPUT
            case 0x72: try memoPut(Int(try uint(4)))         // LONG_BINPUT
            case 0x94: try memoPut(memo.count)               // MEMOIZE
            case 0x68: try push(try memoGet(Int(try byte())))  // BINGET
            case 0x6A: try push(try memoGet(Int(try uint(4)))) // LONG_BINGET
            default:
                throw fail(String(format: "pickle opcode 0x%02x at byte %d is not supported in a checkpoint", op, position - 1))
            }
        }
    }

    private func tuple(_ items: [PickleValue]) -> PickleValue { .tuple(arena.register(PickleTuple(items))) }

    private func resolve(_ module: String, _ name: String) throws -> PickleValue {
        if let g = PickleGlobal.lookup(module: module, name: name) { return .global(g) }
        guard module.utf8.count + name.utf8.count <= 512 else { throw fail("a GLOBAL name is too long") }
        if limits.keepUnknownObjectsInert { return .opaque("\(module).\(name)") }
        throw fail("refusing to load \(module).\(name): a checkpoint may only name tensors, storages and dicts (a whole pickled model? save its state_dict() instead; an object stored beside the weights? --skip-unknown-objects keeps it as an inert placeholder)")
    }

    private func reduce(_ callable: PickleValue, _ argsValue: PickleValue) throws -> PickleValue {
        if case .opaque(let name) = callable { return .opaque(name) }
        guard case .global(let g) = callable else { throw fail("REDUCE on a \(callable.kindName), not an allowed function") }
        guard case .tuple(let argsTuple) = argsValue else { throw fail("REDUCE with arguments of kind \(argsValue.kindName)") }
        let args = argsTuple.items
        switch g {
        case .orderedDict:
            let d = arena.register(PickleDict(ordered: true))
            if let first = args.first {
                guard args.count == 1, case .list(let pairs) = first else { throw fail("OrderedDict(…) with unexpected arguments") }
                for p in pairs.items {
                    guard case .tuple(let kv) = p, kv.items.count == 2 else { throw fail("OrderedDict(…) with a non-pair item") }
                    try d.set(kv.items[0], kv.items[1])
                }
            }
            return .dict(d)
        case .rebuildTensorV2, .rebuildTensor:
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            guard args.count >= 4, args.count <= 7 else { throw fail("a tensor rebuild with \(args.count) arguments") }
            guard case .storage(let s) = args[0] else { throw fail("a tensor rebuilt from a \(args[0].kindName), not a storage") }
            guard let offset = args[1].asInt, let shape = args[2].asIntArray, let strides = args[3].asIntArray else {
                throw fail("a tensor rebuild with a malformed offset, size or stride")
            }
            guard shape.count == strides.count, shape.count <= limits.maxRank else {
                throw fail("a tensor with rank \(shape.count) and \(strides.count) strides")
            }
            return .tensor(TensorRef(storage: s, offset: offset, shape: shape, strides: strides))
        case .rebuildParameter, .rebuildParameterWithState:
            // (data, requires_grad, backward_hooks[, state]): the parameter is its data tensor.
            guard args.count >= 3, case .tensor = args[0] else { throw fail("a parameter rebuilt from something other than a tensor") }
            return args[0]
        case .codecsEncode:
            guard args.count == 2, case .string(let text) = args[0], case .string(let enc) = args[1], enc == "latin1" || enc == "latin-1" else {
                throw fail("_codecs.encode is only accepted as protocol 2's latin-1 spelling of bytes")
            }
            var out: [UInt8] = []
            out.reserveCapacity(text.unicodeScalars.count)
            for u in text.unicodeScalars {
                guard u.value < 256 else { throw fail("_codecs.encode of a non-latin-1 character") }
                out.append(UInt8(u.value))
            }
            return .bytes(out)
        case .numpyDType:
            guard let first = args.first, case .string(let code) = first, code.count <= 16 else { throw fail("numpy.dtype(…) with unexpected arguments") }
            return .numpyDType(code)
        case .numpyScalar:
            guard args.count == 2, case .numpyDType(let code) = args[0], case .bytes(let b) = args[1], b.count <= 64 else {
                throw fail("numpy scalar with unexpected arguments")
            }
            return .numpyScalar(dtype: code, bytes: b)
        case .storageType(let t):
            throw fail("torch.\(t.rawValue) is only allowed inside a persistent id")
        }
    }

    private func build(_ object: PickleValue, _ state: PickleValue) throws {
        switch object {
        case .dict:
            // OrderedDict state: the state dict's `_metadata` (per-module versions). Not needed: dropped.
            return
        case .numpyDType:
            // (version, byte order, …): only little-endian or byte-order-free dtypes are meaningful here.
            if case .tuple(let t) = state, t.items.count > 1, case .string(let order) = t.items[1], order == ">" {
                throw fail("a big-endian numpy dtype is not supported")
            }
        case .tensor, .opaque:
            return  // a parameter's extra Python attributes; a placeholder's state
        default:
            throw fail("BUILD on a \(object.kindName) is not allowed")
        }
    }
}
