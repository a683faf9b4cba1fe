// OpenCV boosted cascade classifiers (the `opencv_storage`/`cascade` XML format of opencv-data), read and
// evaluated natively: Haar features with window variance normalisation, or LBP features with categorical splits.
import Foundation

public struct CascadeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A boosted cascade: stages of weak classifiers (stumps or small trees) over Haar or LBP features.
public struct CascadeClassifier: Sendable {
    public enum FeatureType: String, Sendable { case haar = "HAAR", lbp = "LBP" }

    /// One rectangle of a Haar feature (window coordinates) and its weight.
    public struct HaarRect: Sendable { public var x, y, w, h: Int; public var weight: Double }

    public let featureType: FeatureType
    public let windowWidth: Int
    public let windowHeight: Int
    /// Haar: up to 3 weighted rectangles per feature. LBP: one rectangle (cell size and origin of the 3×3 grid).
    public let haarFeatures: [[HaarRect]]
    public let lbpFeatures: [(x: Int, y: Int, w: Int, h: Int)]

    // Flattened trees. Node i: `nodeLeft/Right` > 0 is a node index relative to the tree's first node,
    // ≤ 0 is −(leaf index) relative to the tree's first leaf (OpenCV's convention).
    let nodeLeft: [Int32]
    let nodeRight: [Int32]
    let nodeFeature: [Int32]
    let nodeThreshold: [Double]
    let nodeSubset: [UInt32]        // LBP only: 8 words (256 bits) per node
    let leaves: [Double]
    let treeFirstNode: [Int32]
    let treeFirstLeaf: [Int32]
    let stageFirstTree: [Int32]
    let stageTreeCount: [Int32]
    let stageThreshold: [Double]

    public var stageCount: Int { stageThreshold.count }
    public var treeCount: Int { treeFirstNode.count }
    public var source: String

    public init(contentsOfFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CascadeError("cannot read cascade file \(path) (install the Debian package opencv-data: run 'make deps')")
        }
        try self.init(xml: [UInt8](data), source: path)
    }

    public init(xml: [UInt8], source: String) throws {
        self.source = source
        let doc = try MiniXML.parse(xml, source: source)
        guard let storage = doc.child("opencv_storage") else { throw CascadeError("\(source): no <opencv_storage> element") }
        guard let cascade = storage.children.first(where: { $0.name == "cascade" || $0.child("stages") != nil }) else {
            throw CascadeError("\(source): no <cascade> element")
        }
        guard cascade.child("stageType") != nil else {
            throw CascadeError("\(source): old-style (pre-2.4) cascade without <stageType>; only the new opencv_storage cascade format is read")
        }
        guard cascade.value("stageType") == "BOOST" else { throw CascadeError("\(source): stageType \(cascade.value("stageType") ?? "?") is not BOOST") }
        guard let ft = cascade.value("featureType").flatMap(FeatureType.init(rawValue:)) else {
            throw CascadeError("\(source): featureType \(cascade.value("featureType") ?? "?") is not HAAR or LBP")
        }
        featureType = ft
        guard let w = cascade.value("width").flatMap({ Int($0) }), let h = cascade.value("height").flatMap({ Int($0) }), w > 2, h > 2 else {
            throw CascadeError("\(source): missing or bad <width>/<height>")
        }
        windowWidth = w
        windowHeight = h
        let maxCat = cascade.child("featureParams")?.value("maxCatCount").flatMap { Int($0) } ?? 0
        let subsetWords = maxCat > 0 ? (maxCat + 31) / 32 : 0
        if ft == .lbp && subsetWords != 8 { throw CascadeError("\(source): LBP cascade with maxCatCount \(maxCat), expected 256") }

        // Features.
        guard let featuresNode = cascade.child("features") else { throw CascadeError("\(source): no <features>") }
        var haar: [[HaarRect]] = []
        var lbp: [(x: Int, y: Int, w: Int, h: Int)] = []
        for f in featuresNode.children {
            if ft == .haar {
                if let t = f.value("tilted"), t != "0" {
                    throw CascadeError("\(source): tilted Haar features are not supported (face cascades have none)")
                }
                guard let rects = f.child("rects") else { throw CascadeError("\(source): Haar feature without <rects>") }
                var list: [HaarRect] = []
                for r in rects.children {
                    let v = r.numbers()
                    guard v.count == 5 else { throw CascadeError("\(source): Haar rect needs 5 numbers, got \(v.count)") }
                    let rect = HaarRect(x: Int(v[0]), y: Int(v[1]), w: Int(v[2]), h: Int(v[3]), weight: v[4])
                    guard rect.x >= 0, rect.y >= 0, rect.w >= 0, rect.h >= 0, rect.x + rect.w <= w, rect.y + rect.h <= h else {
                        throw CascadeError("\(source): Haar rect \(v) outside the \(w)×\(h) window")
                    }
                    list.append(rect)
                }
                guard (1...3).contains(list.count) else { throw CascadeError("\(source): Haar feature with \(list.count) rects") }
                haar.append(list)
            } else {
                guard let r = f.child("rect")?.numbers(), r.count == 4 else { throw CascadeError("\(source): LBP feature needs <rect> with 4 numbers") }
                let x = Int(r[0]), y = Int(r[1]), cw = Int(r[2]), ch = Int(r[3])
                guard x >= 0, y >= 0, cw > 0, ch > 0, x + 3 * cw <= w, y + 3 * ch <= h else {
                    throw CascadeError("\(source): LBP rect \(r) outside the \(w)×\(h) window")
                }
                lbp.append((x, y, cw, ch))
            }
        }
        haarFeatures = haar
        lbpFeatures = lbp
        let featureCount = ft == .haar ? haar.count : lbp.count

        // Stages.
        guard let stagesNode = cascade.child("stages") else { throw CascadeError("\(source): no <stages>") }
        var nl: [Int32] = [], nr: [Int32] = [], nf: [Int32] = [], nt: [Double] = [], ns: [UInt32] = [], lv: [Double] = []
        var tfn: [Int32] = [], tfl: [Int32] = [], sft: [Int32] = [], stc: [Int32] = [], sth: [Double] = []
        let perNode = 3 + (subsetWords > 0 ? subsetWords : 1)
        for stage in stagesNode.children {
            guard let th = stage.value("stageThreshold").flatMap({ Double($0) }), let weak = stage.child("weakClassifiers") else {
                throw CascadeError("\(source): stage without <stageThreshold>/<weakClassifiers>")
            }
            sft.append(Int32(tfn.count))
            stc.append(Int32(weak.children.count))
            sth.append(th - 1e-5)  // OpenCV subtracts THRESHOLD_EPS when loading
            for tree in weak.children {
                guard let nodes = tree.child("internalNodes")?.numbers(), let leafValues = tree.child("leafValues")?.numbers(),
                      !nodes.isEmpty, nodes.count % perNode == 0 else {
                    throw CascadeError("\(source): weak classifier with malformed <internalNodes>/<leafValues> (\(tree.child("internalNodes")?.numbers().count ?? -1) node numbers, \(perNode) per node)")
                }
                let nodeCount = nodes.count / perNode
                guard leafValues.count == nodeCount + 1 else {
                    throw CascadeError("\(source): tree with \(nodeCount) nodes has \(leafValues.count) leaves")
                }
                tfn.append(Int32(nl.count))
                tfl.append(Int32(lv.count))
                for k in 0..<nodeCount {
                    let base = k * perNode
                    let left = Int(nodes[base]), right = Int(nodes[base + 1]), feat = Int(nodes[base + 2])
                    guard feat >= 0, feat < featureCount, left < nodeCount, right < nodeCount, left > -(nodeCount + 1), right > -(nodeCount + 1) else {
                        throw CascadeError("\(source): tree node references feature \(feat) or child \(left)/\(right) out of range")
                    }
                    nl.append(Int32(left)); nr.append(Int32(right)); nf.append(Int32(feat))
                    if subsetWords > 0 {
                        nt.append(0)
                        for j in 0..<subsetWords { ns.append(UInt32(bitPattern: Int32(truncatingIfNeeded: Int64(nodes[base + 3 + j])))) }
                    } else {
                        nt.append(nodes[base + 3])
                    }
                }
                lv.append(contentsOf: leafValues)
            }
        }
        guard !sth.isEmpty else { throw CascadeError("\(source): cascade has no stages") }
        nodeLeft = nl; nodeRight = nr; nodeFeature = nf; nodeThreshold = nt; nodeSubset = ns; leaves = lv
        treeFirstNode = tfn; treeFirstLeaf = tfl; stageFirstTree = sft; stageTreeCount = stc; stageThreshold = sth
    }

    /// Feature offsets into an integral image of row stride `stride`, relative to a window's top-left corner.
    /// Haar: per feature 3 rects × 4 corner offsets + 3 weights (unused rects have weight 0).
    /// LBP: per feature the 16 corners of the 3×3 cell grid.
    struct Offsets {
        var corners: [Int]
        var weights: [Double]
        var norm: (Int, Int, Int, Int)
        var normArea: Double
    }

    func offsets(stride: Int) -> Offsets {
        var corners: [Int] = []
        var weights: [Double] = []
        func ofs(_ x: Int, _ y: Int) -> Int { y * stride + x }
        if featureType == .haar {
            for f in haarFeatures {
                for k in 0..<3 {
                    if k < f.count {
                        let r = f[k]
                        corners += [ofs(r.x, r.y), ofs(r.x + r.w, r.y), ofs(r.x, r.y + r.h), ofs(r.x + r.w, r.y + r.h)]
                        weights.append(r.weight)
                    } else {
                        corners += [0, 0, 0, 0]
                        weights.append(0)
                    }
                }
            }
        } else {
            for f in lbpFeatures {
                for gy in 0..<4 { for gx in 0..<4 { corners.append(ofs(f.x + gx * f.w, f.y + gy * f.h)) } }
            }
        }
        let nx = 1, ny = 1, nw = windowWidth - 2, nh = windowHeight - 2
        return Offsets(corners: corners, weights: weights,
                       norm: (ofs(nx, ny), ofs(nx + nw, ny), ofs(nx, ny + nh), ofs(nx + nw, ny + nh)),
                       normArea: Double(nw * nh))
    }

    /// Runs the cascade on every window of `integral` whose top-left corner lies on the grid of spacing `step`.
    /// Returns the accepted windows with the last stage's sum (the detection's confidence).
    /// `minStdDev`: Haar windows whose gray-level standard deviation (inner window) is at most this are rejected,
    /// as OpenCV does (it uses 10 gray levels); flat windows cannot be faces.
    public func scan(_ integral: IntegralImage, step: Int = 1, minStdDev: Double = 10) -> [(x: Int, y: Int, score: Double)] {
        precondition(step >= 1)
        var found: [(x: Int, y: Int, score: Double)] = []
        let maxX = integral.width - windowWidth, maxY = integral.height - windowHeight
        if maxX < 0 || maxY < 0 { return found }
        let o = offsets(stride: integral.stride)
        let stride = integral.stride
        let isHaar = featureType == .haar
        integral.sum.withUnsafeBufferPointer { sum in
        integral.squaredSum.withUnsafeBufferPointer { squaredSum in
        o.corners.withUnsafeBufferPointer { corners in
        o.weights.withUnsafeBufferPointer { weights in
        nodeLeft.withUnsafeBufferPointer { left in
        nodeRight.withUnsafeBufferPointer { right in
        nodeFeature.withUnsafeBufferPointer { feature in
        nodeThreshold.withUnsafeBufferPointer { threshold in
        nodeSubset.withUnsafeBufferPointer { subset in
        leaves.withUnsafeBufferPointer { leaf in
        treeFirstNode.withUnsafeBufferPointer { treeFirstNode in
        treeFirstLeaf.withUnsafeBufferPointer { treeFirstLeaf in
        stageFirstTree.withUnsafeBufferPointer { stageFirstTree in
        stageTreeCount.withUnsafeBufferPointer { stageTreeCount in
        stageThreshold.withUnsafeBufferPointer { stageThreshold in
            let (na, nb, nc, nd) = o.norm
            let area = o.normArea
            var y = 0
            while y <= maxY {
                var x = 0
                while x <= maxX {
                    let origin = y &* stride &+ x
                    var normFactor = 1.0
                    var viable = true
                    if isHaar {
                        let s = sum[origin &+ na] - sum[origin &+ nb] - sum[origin &+ nc] + sum[origin &+ nd]
                        let q = squaredSum[origin &+ na] - squaredSum[origin &+ nb] - squaredSum[origin &+ nc] + squaredSum[origin &+ nd]
                        let nf = area * q - s * s
                        let root = nf > 0 ? nf.squareRoot() : 0
                        // root = area · σ
                        if nf <= 0 || root <= minStdDev * area { viable = false } else { normFactor = 1 / root }
                    }
                    if viable {
                        var stageSum = 0.0
                        for s in 0..<stageThreshold.count {
                            stageSum = 0
                            let t0 = Int(stageFirstTree[s]), t1 = t0 &+ Int(stageTreeCount[s])
                            for t in t0..<t1 {
                                let firstNode = Int(treeFirstNode[t])
                                var idx = 0
                                repeat {
                                    let n = firstNode &+ idx
                                    let f = Int(feature[n])
                                    let goLeft: Bool
                                    if isHaar {
                                        let c = f &* 12
                                        var v = 0.0
                                        for k in 0..<3 {
                                            let w = weights[f &* 3 &+ k]
                                            if w == 0 { continue }
                                            let p = c &+ k &* 4
                                            v += w * (sum[origin &+ corners[p]] - sum[origin &+ corners[p &+ 1]]
                                                      - sum[origin &+ corners[p &+ 2]] + sum[origin &+ corners[p &+ 3]])
                                        }
                                        goLeft = v * normFactor < threshold[n]
                                    } else {
                                        let code = Self.lbpCode(sum: sum, origin: origin, corners: corners, base: f &* 16)
                                        goLeft = (subset[n &* 8 &+ (code >> 5)] & (UInt32(1) << UInt32(code & 31))) != 0
                                    }
                                    idx = Int(goLeft ? left[n] : right[n])
                                } while idx > 0
                                stageSum += leaf[Int(treeFirstLeaf[t]) &- idx]
                            }
                            if stageSum < stageThreshold[s] { viable = false; break }
                        }
                        if viable { found.append((x, y, stageSum)) }
                    }
                    x &+= step
                }
                y &+= step
            }
        }}}}}}}}}}}}}}}
        return found
    }

    /// The cascade's verdict on the single window at (x, y): the last stage's sum, or nil when rejected.
    public func evaluateWindow(_ integral: IntegralImage, x: Int, y: Int, minStdDev: Double = 10) -> Double? {
        guard x >= 0, y >= 0, x + windowWidth <= integral.width, y + windowHeight <= integral.height else { return nil }
        // Scan a sub-grid containing only this window by offsetting: simplest is a 1-window scan on a view.
        let hits = scanWindow(integral, x: x, y: y, minStdDev: minStdDev)
        return hits
    }

    private func scanWindow(_ integral: IntegralImage, x: Int, y: Int, minStdDev: Double) -> Double? {
        // Crop the integral image to the window (subtracting the corner keeps sums exact) and scan it.
        let w = windowWidth, h = windowHeight, st = integral.stride
        var s = [Double](repeating: 0, count: (w + 1) * (h + 1)), q = s
        for j in 0...h {
            for i in 0...w {
                let p = (y + j) * st + (x + i)
                let a = y * st + x, b = y * st + x + i, c = (y + j) * st + x
                s[j * (w + 1) + i] = integral.sum[p] - integral.sum[b] - integral.sum[c] + integral.sum[a]
                q[j * (w + 1) + i] = integral.squaredSum[p] - integral.squaredSum[b] - integral.squaredSum[c] + integral.squaredSum[a]
            }
        }
        let sub = IntegralImage(width: w, height: h, sum: s, squaredSum: q)
        return scan(sub, step: 1, minStdDev: minStdDev).first?.score
    }

    /// The 8-bit local binary pattern of a 3×3 grid of cells (corner offsets `base…base+15`, row-major 4×4):
    /// each outer cell's sum compared (≥) with the centre cell's, clockwise from the top-left cell = bit 7.
    @inline(__always)
    static func lbpCode(sum: UnsafeBufferPointer<Double>, origin: Int, corners: UnsafeBufferPointer<Int>, base: Int) -> Int {
        @inline(__always) func cell(_ i: Int, _ j: Int) -> Double {
            // cell at grid column i, row j: corners (i,j), (i+1,j), (i,j+1), (i+1,j+1)
            let p0 = corners[base &+ j &* 4 &+ i], p1 = corners[base &+ j &* 4 &+ i &+ 1]
            let p2 = corners[base &+ (j &+ 1) &* 4 &+ i], p3 = corners[base &+ (j &+ 1) &* 4 &+ i &+ 1]
            return sum[origin &+ p0] - sum[origin &+ p1] - sum[origin &+ p2] + sum[origin &+ p3]
        }
        let c = cell(1, 1)
        var code = 0
        if cell(0, 0) >= c { code |= 128 }
        if cell(1, 0) >= c { code |= 64 }
        if cell(2, 0) >= c { code |= 32 }
        if cell(2, 1) >= c { code |= 16 }
        if cell(2, 2) >= c { code |= 8 }
        if cell(1, 2) >= c { code |= 4 }
        if cell(0, 2) >= c { code |= 2 }
        if cell(0, 1) >= c { code |= 1 }
        return code
    }
}
