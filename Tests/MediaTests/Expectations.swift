import Foundation
import TestSupport

/// Fixtures/expected.json, written by Fixtures/make_fixtures.py from what the ffmpeg/ffprobe tools report.
struct Expectations: @unchecked Sendable {
    let json: [String: Any]

    static let shared: Expectations = {
        let data = try! Data(contentsOf: TestPaths.fixtures.appendingPathComponent("expected.json"))
        return Expectations(json: try! JSONSerialization.jsonObject(with: data) as! [String: Any])
    }()

    func clip(_ name: String) -> [String: Any] { json[name] as! [String: Any] }
    func double(_ clip: String, _ key: String) -> Double { (self.clip(clip)[key] as! NSNumber).doubleValue }
    func int(_ clip: String, _ key: String) -> Int { (self.clip(clip)[key] as! NSNumber).intValue }
    func times(_ clip: String) -> [Double] { (self.clip(clip)["times"] as! [NSNumber]).map(\.doubleValue) }
    func points(_ clip: String) -> [(Int, Int)] {
        (self.clip(clip)["rgb_points"] as! [[NSNumber]]).map { ($0[0].intValue, $0[1].intValue) }
    }
    /// RGB triples at the clip's points for frame index i.
    func rgb(_ clip: String, frame i: Int) -> [[Int]] {
        ((self.clip(clip)["rgb"] as! [String: Any])[String(i)] as! [[NSNumber]]).map { $0.map(\.intValue) }
    }
}

func media(_ name: String) -> String { TestPaths.fixture("media/" + name) }
