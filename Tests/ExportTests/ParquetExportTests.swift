@testable import Export
import FastJSON
import Foundation
import Store
import XCTest

/// Parquet shards read back by pyarrow (installed by `make deps` into .venv): the same rows, in the
/// same order, as the JSONL shards of the same export, with string columns, row groups and codecs
/// as written.
final class ParquetExportTests: XCTestCase {
    var scratch: String!
    static let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "herd-parquet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    /// What pyarrow reads: per file, the rows as objects, the column types, the row groups and the codec.
    func pyarrowRead(_ files: [String]) throws -> JSONValue {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else { throw XCTSkip("no .venv: run make deps") }
        let script = """
        import json, sys
        import pyarrow.parquet as pq
        out = {}
        for f in sys.argv[1:]:
            p = pq.ParquetFile(f)
            t = p.read()
            out[f] = {"rows": t.to_pylist(), "types": [str(x) for x in t.schema.types], "names": t.schema.names,
                      "row_groups": p.metadata.num_row_groups, "num_rows": p.metadata.num_rows,
                      "codec": p.metadata.row_group(0).column(0).compression if p.metadata.num_row_groups else None}
        print(json.dumps(out))
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python)
        p.arguments = ["-c", script] + files
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: errors, as: UTF8.self))
        return try JSONParser.parse(Array(data))
    }

    func makeStore() throws -> Store {
        let store = try Store.create(at: "\(scratch!)/herd.db")
        let w = try SourceWriter(store: store, uri: "t", sha256: String(repeating: "a", count: 64), bytes: 1, format: "alpaca")
        for k in 1...40 {
            let text = k % 7 == 0 ? String(repeating: "long response 🦙 ", count: 200) : "response \(k) \"q\" é\n\t\\"
            try w.add(NewInstruction(subset: k % 3 == 0 ? "flan" : "alpaca", member: nil, line: Int64(k), record: Int64(k), byteOffset: 0,
                                     task: nil, instruction: "instruction \(k)", input: k % 4 == 0 ? "input \(k)" : "",
                                     output: k == 5 ? "" : text, meta: nil, normHash: Int64(k)), duplicateOf: nil)
        }
        _ = try w.commit(filtered: 0, format: "alpaca")
        return store
    }

    func testParquetShardsHoldTheJSONLRows() throws {
        let store = try makeStore()
        func options(_ dir: String, _ format: ShardFormat, _ compression: Compression) -> ExportOptions {
            var o = ExportOptions(outputDirectory: "\(scratch!)/\(dir)")
            o.format = format; o.compression = compression; o.shardRows = 15; o.valFraction = 0.25; o.seed = 9
            o.parquetRowGroupRows = 4
            return o
        }
        let jsonl = try Exporter.export(store: store, options: options("jsonl", .jsonl, .none), statsMarkdown: "")
        for compression in Compression.allCases {
            let dir = "parquet-\(compression.rawValue)"
            let m = try Exporter.export(store: store, options: options(dir, .parquet, compression), statsMarkdown: "")
            XCTAssertEqual(m.format, "parquet")
            XCTAssertEqual(m.files.map(\.name), jsonl.files.map { $0.name.replacingOccurrences(of: ".jsonl", with: ".parquet") })
            XCTAssertEqual(m.files.map(\.rows), jsonl.files.map(\.rows))
            let read = try pyarrowRead(m.files.map { "\(scratch!)/\(dir)/\($0.name)" })
            for (pf, jf) in zip(m.files, jsonl.files) {
                let r = try XCTUnwrap(read["\(scratch!)/\(dir)/\(pf.name)"])
                let lines = try String(contentsOfFile: "\(scratch!)/jsonl/\(jf.name)", encoding: .utf8).split(separator: "\n")
                guard case let .array(rows)? = r["rows"] else { return XCTFail("no rows") }
                XCTAssertEqual(rows.count, lines.count)
                for (row, line) in zip(rows, lines) {
                    let expected = try JSONParser.parse(String(line))
                    for column in Exporter.columns { XCTAssertEqual(row[column], expected[column], "\(pf.name) \(column)") }
                }
                XCTAssertEqual(r["names"], .array(Exporter.columns.map { .string($0) }))
                XCTAssertEqual(r["types"], .array(Array(repeating: .string("string"), count: 5)))
                XCTAssertEqual(r["num_rows"], .number(String(pf.rows)))
                XCTAssertEqual(r["row_groups"], .number(String((pf.rows + 3) / 4)))
                XCTAssertEqual(r["codec"], .string(["none": "UNCOMPRESSED", "gzip": "GZIP", "zstd": "ZSTD"][compression.rawValue]!))
            }
            // The same export again: byte for byte.
            let again = try Exporter.export(store: store, options: options(dir + "-again", .parquet, compression), statsMarkdown: "")
            XCTAssertEqual(again.files.map(\.sha256), m.files.map(\.sha256))
            let card = try String(contentsOfFile: "\(scratch!)/\(dir)/README.md", encoding: .utf8)
            XCTAssertTrue(card.contains("path: \"train-*.parquet\""), card)
            XCTAssertTrue(card.contains("load_dataset(\"parquet\""), card)
        }
    }

    func testPagesSplitAndEmptyValues() throws {
        let path = "\(scratch!)/pages.parquet"
        var bytes: [UInt8] = []
        let writer = try ParquetStringTableWriter(columns: ["a", "b"], codec: .zstd, rowGroupRows: 1000, pageBytes: 64) { bytes += $0 }
        var expected: [[String]] = []
        for k in 0..<300 {
            let row = [k % 10 == 0 ? "" : "value \(k)", String(repeating: "x", count: k % 50)]
            expected.append(row)
            try writer.append(row.map { Array($0.utf8) })
        }
        try writer.finish()
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(Array(bytes.prefix(4)), Array("PAR1".utf8))
        XCTAssertEqual(Array(bytes.suffix(4)), Array("PAR1".utf8))
        let read = try pyarrowRead([path])
        guard case let .array(rows)? = read[path]?["rows"] else { return XCTFail("no rows") }
        XCTAssertEqual(rows.map { [$0["a"]?.stringValue ?? "?", $0["b"]?.stringValue ?? "?"] }, expected)
    }
}
