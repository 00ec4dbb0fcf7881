import ByteStreams
import Foundation
import XCTest

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

final class ByteStreamsTests: XCTestCase {
    func lines(_ text: String, chunk: Int) throws -> [(String, Int, Int64)] {
        let r = LineReader(source: MemoryByteSource(Array(text.utf8)), chunkSize: chunk)
        var out: [(String, Int, Int64)] = []
        while let l = try r.next() { out.append((String(decoding: l.bytes, as: UTF8.self), l.number, l.offset)) }
        return out
    }

    func testLineReaderNumbersAndOffsetsAtEveryChunkSize() throws {
        let text = "first\r\nsecond line that is longer than the chunk\n\nlast without newline"
        for chunk in [16, 17, 31, 1 << 20] {
            let got = try lines(text, chunk: chunk)
            XCTAssertEqual(got.map(\.0), ["first", "second line that is longer than the chunk", "", "last without newline"])
            XCTAssertEqual(got.map(\.1), [1, 2, 3, 4])
            XCTAssertEqual(got.map(\.2), [0, 7, 49, 50])
        }
        XCTAssertEqual(try lines("", chunk: 16).count, 0)
        XCTAssertEqual(try lines("a\n", chunk: 16).map(\.0), ["a"])
    }

    func members(_ path: String) throws -> [(String?, String, Int)] {
        let f = try InputFile(path: path)
        var out: [(String?, String, Int)] = []
        while let m = try f.nextMember() {
            var total = 0
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = try buf.withUnsafeMutableBytes { try m.source.read(into: $0) }
                if n == 0 { break }
                total += n
            }
            out.append((m.member, m.name, total))
        }
        return out
    }

    func testEveryCompressionDecodesToTheSameBytes() throws {
        let plain = try members("\(repoRoot)/fixtures/alpaca/alpaca_data_first200.json")
        XCTAssertEqual(plain.first?.2, 75519)
        for ext in ["gz", "bz2", "xz", "zst"] {
            let path = "\(repoRoot)/fixtures/compressed/alpaca_data_first200.json.\(ext)"
            let f = try InputFile(path: path)
            XCTAssertEqual(f.container, .compressed(["gz": "gzip", "bz2": "bzip2", "xz": "xz", "zst": "zstd"][ext]!))
            let m = try members(path)
            XCTAssertEqual(m.count, 1)
            XCTAssertNil(m[0].0)
            XCTAssertEqual(m[0].1, "alpaca_data_first200.json")
            XCTAssertEqual(m[0].2, 75519, ext)
        }
    }

    func testArchivesYieldTheirRegularFiles() throws {
        let tar = try members("\(repoRoot)/fixtures/archives/self-instruct.tar.gz")
        XCTAssertEqual(tar.map(\.0), ["self-instruct/seed_tasks.jsonl", "self-instruct/LICENSE_Apache-2.0.txt"])
        XCTAssertEqual(tar[0].2, 110_934)
        let zip = try members("\(repoRoot)/fixtures/archives/flan-jsonl.zip")
        XCTAssertEqual(zip.map(\.0), ["flan/cot_strategyqa_zs_opt_train.jsonl", "flan/flan_collection_cot_sample.jsonl"])
    }

    func testTruncatedGzipIsNamed() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(repoRoot)/fixtures/compressed/alpaca_data_first200.json.gz"))
        let path = NSTemporaryDirectory() + "truncated-\(UUID().uuidString).json.gz"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try members(path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path), text)
            XCTAssertTrue(text.contains("truncated or damaged compressed data"), text)
        }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try InputFile(path: "/nonexistent/x.json")) {
            XCTAssertEqual("\($0)", "/nonexistent/x.json: no such file")
        }
    }
}
