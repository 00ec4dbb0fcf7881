import Checksums
import CZlib
import CZstd
import Export
import Sampling
import Foundation
import Store
import XCTest

final class ExportTests: XCTestCase {
    // MARK: - Fixture

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("herd-export-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func row(_ subset: String, _ instruction: String, input: String = "", output: String?, record: Int64) -> NewInstruction {
        NewInstruction(subset: subset, member: nil, line: record, record: record, byteOffset: 0, task: nil,
                       instruction: instruction, input: input, output: output, meta: nil, normHash: record * 7919)
    }

    /// ids 1–12: alpaca (2 has an input, 3 needs escaping, 4 has no output, 6 duplicates 1);
    /// 13–20: flan; 21–23: self_instruct_seed (a seed subset).
    private func makeStore() throws -> Store {
        let store = try Store.create(at: scratch.appendingPathComponent("herd.db").path)
        let alpaca = try SourceWriter(store: store, uri: "alpaca_data.json", sha256: String(repeating: "a", count: 64),
                                      bytes: 1, format: "alpaca")
        try alpaca.add(row("alpaca", "Give three tips for staying healthy.", output: "Eat well, move, sleep.", record: 1), duplicateOf: nil)
        try alpaca.add(row("alpaca", "Summarise the text", input: "Cats sleep a lot.", output: "Cats sleep.", record: 2), duplicateOf: nil)
        try alpaca.add(row("alpaca", "Say \"hi\"\nthen stop", output: "héllo → 世界\ttab\\", record: 3), duplicateOf: nil)
        try alpaca.add(row("alpaca", "Write a poem", output: nil, record: 4), duplicateOf: nil)
        try alpaca.add(row("alpaca", "Alpaca instruction 5", output: "Alpaca response 5", record: 5), duplicateOf: nil)
        try alpaca.add(row("alpaca", "Give three tips for staying healthy.", output: "Again.", record: 6), duplicateOf: 1)
        for i in 7...12 {
            try alpaca.add(row("alpaca", "Alpaca instruction \(i)", output: "Alpaca response \(i)", record: Int64(i)), duplicateOf: nil)
        }
        _ = try alpaca.commit(filtered: 0, format: "alpaca")
        let flan = try SourceWriter(store: store, uri: "flan.jsonl", sha256: String(repeating: "b", count: 64), bytes: 1, format: "flan")
        for i in 13...20 {
            try flan.add(row("flan", "Flan question \(i)", output: "Flan answer \(i)", record: Int64(i)), duplicateOf: nil)
        }
        _ = try flan.commit(filtered: 0, format: "flan")
        let seed = try SourceWriter(store: store, uri: "seed_tasks.jsonl", sha256: String(repeating: "c", count: 64), bytes: 1,
                                    format: "self-instruct")
        for i in 21...23 {
            try seed.add(row("self_instruct_seed", "Seed task \(i)", output: "Seed output \(i)", record: Int64(i)), duplicateOf: nil)
        }
        _ = try seed.commit(filtered: 0, format: "self-instruct")
        return store
    }

    /// The exportable ids by default, in corpus order: no seed subset, no duplicate (6), no row without output (4).
    private let corpusIDs: [Int64] = [1, 2, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    /// `corpusIDs` shuffled with seed 42 (computed independently with the Python port in DeterministicShuffle.swift).
    private let shuffled42: [Int64] = [5, 14, 17, 7, 1, 11, 16, 15, 19, 8, 18, 20, 10, 9, 12, 3, 13, 2]

    private func options(_ dir: String, compression: Compression = .none, val: Double = 0.2, shardRows: Int = 5,
                         seed: UInt64 = 42) -> ExportOptions {
        var o = ExportOptions(outputDirectory: scratch.appendingPathComponent(dir).path)
        o.compression = compression
        o.valFraction = val
        o.shardRows = shardRows
        o.seed = seed
        return o
    }

    private func bytes(_ dir: String, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: scratch.appendingPathComponent(dir).appendingPathComponent(name)))
    }

    private func listing(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: scratch.appendingPathComponent(dir).path).sorted()
    }

    private func gunzip(_ data: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        XCTAssertEqual(inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)), Z_OK)
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var input = data
        var rc: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { c in
                    stream.next_out = c.baseAddress
                    stream.avail_out = uInt(c.count)
                    rc = inflate(&stream, Z_NO_FLUSH)
                    out.append(contentsOf: c[0..<(c.count - Int(stream.avail_out))])
                }
            } while rc == Z_OK
        }
        XCTAssertEqual(rc, Z_STREAM_END)
        XCTAssertEqual(stream.avail_in, 0)
        return out
    }

    private func unzstd(_ data: [UInt8]) throws -> [UInt8] {
        let size = data.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        // Streaming compression does not record the size; decompress into a generous buffer.
        let capacity = size < UInt64(1 << 30) ? Int(size) : 1 << 22
        var out = [UInt8](repeating: 0, count: capacity)
        let n = out.withUnsafeMutableBytes { o in data.withUnsafeBytes { ZSTD_decompress(o.baseAddress, o.count, $0.baseAddress, $0.count) } }
        XCTAssertEqual(ZSTD_isError(n), 0, String(cString: ZSTD_getErrorName(n)))
        return Array(out[0..<n])
    }

    private func jsonl(_ dir: String, _ file: ManifestFile, _ compression: Compression) throws -> [UInt8] {
        let raw = try bytes(dir, file.name)
        switch compression {
        case .none: return raw
        case .gzip: return try gunzip(raw)
        case .zstd: return try unzstd(raw)
        }
    }

    private func lines(_ data: [UInt8]) -> [String] {
        XCTAssertEqual(data.last, UInt8(ascii: "\n"))
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    private func objects(_ lines: [String]) throws -> [[String: String]] {
        try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: String] }
    }

    private func ids(_ objects: [[String: String]]) -> [Int64] {
        objects.map { Int64($0["id"]!.dropFirst("herd-".count))! }
    }

    // MARK: - Rows, splits, shards

    func testUncompressedExportRowsSplitsAndShards() throws {
        let store = try makeStore()
        let manifest = try Exporter.export(store: store, options: options("out"), statsMarkdown: "| a | b |\n|---|---|\n| 1 | 2 |\n")
        XCTAssertEqual(manifest.files.map(\.name), ["train-00000-of-00003.jsonl", "train-00001-of-00003.jsonl",
                                                    "train-00002-of-00003.jsonl", "validation-00000-of-00001.jsonl"])
        XCTAssertEqual(manifest.files.map(\.split), ["train", "train", "train", "validation"])
        XCTAssertEqual(manifest.files.map(\.rows), [5, 5, 4, 4])
        XCTAssertEqual(manifest.format, "jsonl")
        XCTAssertEqual(manifest.compression, "none")
        XCTAssertEqual(manifest.seed, 42)
        XCTAssertEqual(manifest.valFraction, 0.2)
        XCTAssertEqual(manifest.shardRows, 5)
        XCTAssertEqual(manifest.columns, ["instruction", "response", "instruction_source", "response_source", "id"])
        XCTAssertEqual(manifest.totals.rows, 18)
        XCTAssertEqual(manifest.totals.rowsPerSplit, ["train": 14, "validation": 4])
        XCTAssertEqual(manifest.totals.rowsPerSubset, ["alpaca": 10, "flan": 8])
        XCTAssertEqual(manifest.totals.skippedWithoutResponse, 1)
        XCTAssertEqual(try listing("out"), ["README.md", "manifest.json", "train-00000-of-00003.jsonl", "train-00001-of-00003.jsonl",
                                            "train-00002-of-00003.jsonl", "validation-00000-of-00001.jsonl"])

        // Validation is the head of the shuffled order, train the rest, both in shuffled order.
        var perFile: [[Int64]] = []
        var all: [String: [String: String]] = [:]
        for f in manifest.files {
            let data = try jsonl("out", f, .none)
            XCTAssertEqual(Int64(data.count), f.uncompressedBytes)
            XCTAssertEqual(Int64(data.count), f.bytes)
            let ls = lines(data)
            XCTAssertEqual(Int64(ls.count), f.rows)
            for l in ls { XCTAssertTrue(l.hasPrefix(#"{"instruction":"#), l) }
            let objs = try objects(ls)
            perFile.append(ids(objs))
            for o in objs { all[o["id"]!] = o }
        }
        XCTAssertEqual(perFile, [[1, 11, 16, 15, 19], [8, 18, 20, 10, 9], [12, 3, 13, 2], [5, 14, 17, 7]])
        XCTAssertEqual(Array(shuffled42[4...]), perFile[0] + perFile[1] + perFile[2])

        // Exact lines: the instruction joined with its input, escaping, key order.
        let train2 = lines(try jsonl("out", manifest.files[2], .none))
        XCTAssertEqual(train2[3], #"{"instruction":"Summarise the text:Cats sleep a lot.","response":"Cats sleep.","instruction_source":"alpaca","response_source":"seed","id":"herd-2"}"#)
        XCTAssertEqual(train2[1], #"{"instruction":"Say \"hi\"\nthen stop","response":"héllo → 世界\ttab\\","instruction_source":"alpaca","response_source":"seed","id":"herd-3"}"#)
        XCTAssertEqual(all["herd-13"], ["instruction": "Flan question 13", "response": "Flan answer 13",
                                        "instruction_source": "flan", "response_source": "seed", "id": "herd-13"])
        XCTAssertNil(all["herd-4"], "a row without output is left out")
        XCTAssertNil(all["herd-6"], "a duplicate is left out by default")
        XCTAssertNil(all["herd-21"], "a seed subset is not exported by default")

        // The manifest on disk is the one returned; sizes and checksums are the files' own.
        let onDisk = try ExportManifest.decode(Data(try bytes("out", "manifest.json")))
        XCTAssertEqual(onDisk, manifest)
        XCTAssertEqual(try bytes("out", "manifest.json"), try manifest.encoded())
        try assertFilesMatchManifest("out", manifest)
        XCTAssertEqual(manifest.totals.bytes, manifest.files.reduce(0) { $0 + $1.bytes })
        XCTAssertEqual(manifest.totals.uncompressedBytes, manifest.files.reduce(0) { $0 + $1.uncompressedBytes })
    }

    private func assertFilesMatchManifest(_ dir: String, _ manifest: ExportManifest, file: StaticString = #filePath, line: UInt = #line) throws {
        for f in manifest.files {
            let path = scratch.appendingPathComponent(dir).appendingPathComponent(f.name).path
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber
            XCTAssertEqual(size.int64Value, f.bytes, f.name, file: file, line: line)
            XCTAssertEqual(try SHA256.hexOfFile(atPath: path), f.sha256, f.name, file: file, line: line)
        }
    }

    func testGzipAndZstdHoldTheSameLines() throws {
        let store = try makeStore()
        let plain = try Exporter.export(store: store, options: options("none"), statsMarkdown: "")
        for compression in [Compression.gzip, .zstd] {
            let dir = compression.rawValue
            let m = try Exporter.export(store: store, options: options(dir, compression: compression), statsMarkdown: "")
            XCTAssertEqual(m.compression, compression.rawValue)
            XCTAssertEqual(m.files.map(\.name), plain.files.map { $0.name + compression.fileSuffix })
            XCTAssertEqual(m.files.map(\.rows), [5, 5, 4, 4])
            XCTAssertEqual(m.totals.uncompressedBytes, plain.totals.uncompressedBytes)
            try assertFilesMatchManifest(dir, m)
            for (f, p) in zip(m.files, plain.files) {
                let data = try jsonl(dir, f, compression)
                XCTAssertEqual(data, try bytes("none", p.name), f.name)
                XCTAssertEqual(Int64(data.count), f.uncompressedBytes)
                XCTAssertNotEqual(f.bytes, f.uncompressedBytes)
            }
        }
        // gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS 3 (Unix).
        let gz = try bytes("gzip", "train-00000-of-00003.jsonl.gz")
        XCTAssertEqual(Array(gz[0..<10]), [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03])
        // zstd frame magic, with the content checksum flag set in the frame header descriptor.
        let zst = try bytes("zstd", "train-00000-of-00003.jsonl.zst")
        XCTAssertEqual(Array(zst[0..<4]), [0x28, 0xB5, 0x2F, 0xFD])
        XCTAssertEqual(zst[4] & 0x04, 0x04)
    }

    func testSameSeedIsByteIdenticalOtherSeedDiffers() throws {
        let store = try makeStore()
        for compression in Compression.allCases {
            let a = try Exporter.export(store: store, options: options("a-\(compression)", compression: compression), statsMarkdown: "stats")
            let b = try Exporter.export(store: store, options: options("b-\(compression)", compression: compression), statsMarkdown: "stats")
            XCTAssertEqual(a, b)
            XCTAssertEqual(try listing("a-\(compression)"), try listing("b-\(compression)"))
            for name in try listing("a-\(compression)") {
                XCTAssertEqual(try bytes("a-\(compression)", name), try bytes("b-\(compression)", name), name)
            }
            let c = try Exporter.export(store: store, options: options("c-\(compression)", compression: compression, seed: 7),
                                        statsMarkdown: "stats")
            XCTAssertEqual(c.files.map(\.name), a.files.map(\.name))
            XCTAssertEqual(c.totals.rows, a.totals.rows)
            XCTAssertNotEqual(c.files.map(\.sha256), a.files.map(\.sha256))
        }
        // Seed 7: validation is the first four of the shuffled order.
        let m = try Exporter.export(store: store, options: options("seed7"), statsMarkdown: "")
        _ = m
        let seven = try Exporter.export(store: store, options: options("seed7", seed: 7), statsMarkdown: "")
        let validation = ids(try objects(lines(try jsonl("seed7", seven.files[3], .none))))
        XCTAssertEqual(validation, [19, 16, 11, 18])
    }

    func testValidationFractionRounding() throws {
        let store = try makeStore()
        let cases: [(Double, Int64)] = [(0, 0), (0.1, 2), (0.5, 9), (0.25, 5), (0.99, 18)] // round(f × 18)
        for (i, (fraction, expected)) in cases.enumerated() {
            let m = try Exporter.export(store: store, options: options("v\(i)", val: fraction, shardRows: 100), statsMarkdown: "")
            XCTAssertEqual(m.totals.rowsPerSplit["validation"], expected, "\(fraction)")
            XCTAssertEqual(m.totals.rowsPerSplit["train"], 18 - expected, "\(fraction)")
            var names: [String] = []
            if expected < 18 { names.append("train-00000-of-00001.jsonl") }
            if expected > 0 { names.append("validation-00000-of-00001.jsonl") }
            XCTAssertEqual(m.files.map(\.name), names, "a split with no rows writes no file")
            if expected > 0 {
                let got = ids(try objects(lines(try jsonl("v\(i)", m.files.last!, .none))))
                XCTAssertEqual(got, Array(shuffled42[0..<Int(expected)]))
            }
        }
    }

    func testManySmallShards() throws {
        let store = try makeStore()
        let m = try Exporter.export(store: store, options: options("ones", val: 0, shardRows: 1), statsMarkdown: "")
        XCTAssertEqual(m.files.count, 18)
        XCTAssertEqual(m.files.first?.name, "train-00000-of-00018.jsonl")
        XCTAssertEqual(m.files.last?.name, "train-00017-of-00018.jsonl")
        var got: [Int64] = []
        for f in m.files { got += ids(try objects(lines(try jsonl("ones", f, .none)))) }
        XCTAssertEqual(got, shuffled42)
        try assertFilesMatchManifest("ones", m)
        let huge = try Exporter.export(store: store, options: options("huge", shardRows: .max), statsMarkdown: "")
        XCTAssertEqual(huge.files.map(\.name), ["train-00000-of-00001.jsonl", "validation-00000-of-00001.jsonl"])
        XCTAssertEqual(huge.files.map(\.rows), [14, 4])
    }

    func testSubsetSelectionAndDuplicates() throws {
        let store = try makeStore()
        var o = options("dups", val: 0, shardRows: 100)
        o.includeDuplicates = true
        let withDups = try Exporter.export(store: store, options: o, statsMarkdown: "")
        XCTAssertEqual(withDups.totals.rows, 19)
        XCTAssertEqual(withDups.totals.rowsPerSubset, ["alpaca": 11, "flan": 8])
        let exported = ids(try objects(lines(try jsonl("dups", withDups.files[0], .none))))
        XCTAssertEqual(exported.sorted(), [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])

        var s = options("seed", val: 0, shardRows: 100)
        s.subsets = ["self_instruct_seed"]
        let seeds = try Exporter.export(store: store, options: s, statsMarkdown: "")
        XCTAssertEqual(seeds.totals.rowsPerSubset, ["self_instruct_seed": 3])
        XCTAssertEqual(seeds.totals.skippedWithoutResponse, 0)
        let seedObjects = try objects(lines(try jsonl("seed", seeds.files[0], .none)))
        XCTAssertEqual(ids(seedObjects).sorted(), [21, 22, 23])
        XCTAssertEqual(Set(seedObjects.map { $0["instruction_source"]! }), ["self_instruct_seed"])

        var f = options("flan", val: 0, shardRows: 100)
        f.subsets = ["flan", "flan"]
        let flan = try Exporter.export(store: store, options: f, statsMarkdown: "")
        XCTAssertEqual(flan.totals.rowsPerSubset, ["flan": 8])
        XCTAssertEqual(flan.totals.rows, 8)
    }

    /// The exporter's own pass over the table picks exactly `Store.exportableIDs` less the rows without output.
    func testPlannedIDsMatchStore() throws {
        let store = try makeStore()
        let cases: [([String]?, Bool)] = [(nil, false), (nil, true), (["self_instruct_seed"], false), (["alpaca", "self_instruct_seed"], true)]
        for (i, (subsets, includeDuplicates)) in cases.enumerated() {
            var o = options("plan\(i)", val: 0, shardRows: 1000)
            o.subsets = subsets
            o.includeDuplicates = includeDuplicates
            let m = try Exporter.export(store: store, options: o, statsMarkdown: "")
            let exported = ids(try objects(lines(try jsonl("plan\(i)", m.files[0], .none)))).sorted()
            let names = subsets ?? ["alpaca", "flan"]
            let candidates = try store.exportableIDs(subsets: names, includeDuplicates: includeDuplicates)
            let withOutput = try store.exportRows(ids: candidates).filter { $0.output != nil }.map(\.id)
            XCTAssertEqual(exported, withOutput, "\(i)")
            XCTAssertEqual(m.totals.skippedWithoutResponse, Int64(candidates.count - withOutput.count), "\(i)")
        }
    }

    // MARK: - Atomicity and earlier exports

    func testNoTemporaryFilesLeftBehind() throws {
        let store = try makeStore()
        for compression in Compression.allCases {
            _ = try Exporter.export(store: store, options: options("tmp", compression: compression), statsMarkdown: "")
            XCTAssertEqual(try listing("tmp").filter { $0.hasPrefix(".") || $0.hasSuffix(".tmp") }, [])
        }
        // A stale temporary of an interrupted export is cleared; other hidden files are not touched.
        let dir = scratch.appendingPathComponent("tmp")
        try Data("junk".utf8).write(to: dir.appendingPathComponent(".train-00000-of-00009.jsonl.gz.tmp"))
        try Data("mine".utf8).write(to: dir.appendingPathComponent(".keep.tmp"))
        _ = try Exporter.export(store: store, options: options("tmp"), statsMarkdown: "")
        XCTAssertEqual(try listing("tmp").filter { $0.hasPrefix(".") }, [".keep.tmp"])
    }

    func testFailedExportLeavesEarlierExportIntact() throws {
        let store = try makeStore()
        let first = try Exporter.export(store: store, options: options("keep", val: 0, shardRows: 100), statsMarkdown: "")
        let before = try listing("keep")
        let manifestBefore = try bytes("keep", "manifest.json")
        // A folder where a shard must go: the export refuses before it writes anything.
        let blocker = scratch.appendingPathComponent("keep").appendingPathComponent("validation-00000-of-00001.jsonl")
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: false)
        try Data("x".utf8).write(to: blocker.appendingPathComponent("inside"))
        XCTAssertThrowsError(try Exporter.export(store: store, options: options("keep", val: 0.5, shardRows: 100), statsMarkdown: "")) { error in
            XCTAssertEqual("\(error)", "\(blocker.path): is in the way: not a regular file")
        }
        XCTAssertEqual(try listing("keep"), (before + ["validation-00000-of-00001.jsonl"]).sorted())
        XCTAssertEqual(try bytes("keep", "manifest.json"), manifestBefore)
        try assertFilesMatchManifest("keep", first)
    }

    func testFailureWhileWritingRemovesTemporaries() throws {
        let store = try makeStore()
        let first = try Exporter.export(store: store, options: options("mid", val: 0.5, shardRows: 100), statsMarkdown: "")
        let manifestBefore = try bytes("mid", "manifest.json")
        // A folder under the temporary name of one shard: creating it fails while the other is written.
        let dir = scratch.appendingPathComponent("mid")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".validation-00000-of-00001.jsonl.gz.tmp"),
                                                withIntermediateDirectories: false)
        XCTAssertThrowsError(try Exporter.export(store: store, options: options("mid", compression: .gzip, val: 0.5, shardRows: 100),
                                                 statsMarkdown: "")) { error in
            guard case ExportError.io = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try listing("mid"), [".validation-00000-of-00001.jsonl.gz.tmp", "README.md", "manifest.json",
                                            "train-00000-of-00001.jsonl", "validation-00000-of-00001.jsonl"])
        XCTAssertEqual(try bytes("mid", "manifest.json"), manifestBefore)
        try assertFilesMatchManifest("mid", first)
    }

    func testEarlierExportsExtraShardsAreRemoved() throws {
        let store = try makeStore()
        _ = try Exporter.export(store: store, options: options("re", compression: .gzip), statsMarkdown: "")
        let dir = scratch.appendingPathComponent("re")
        try Data("notes".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        let second = try Exporter.export(store: store, options: options("re", compression: .gzip, shardRows: 10), statsMarkdown: "")
        XCTAssertEqual(second.files.map(\.name), ["train-00000-of-00002.jsonl.gz", "train-00001-of-00002.jsonl.gz",
                                                  "validation-00000-of-00001.jsonl.gz"])
        XCTAssertEqual(try listing("re"), ["README.md", "manifest.json", "notes.txt", "train-00000-of-00002.jsonl.gz",
                                           "train-00001-of-00002.jsonl.gz", "validation-00000-of-00001.jsonl.gz"])
        try assertFilesMatchManifest("re", second)
        // Another compression replaces every shard.
        let third = try Exporter.export(store: store, options: options("re", compression: .zstd, val: 0, shardRows: 100), statsMarkdown: "")
        XCTAssertEqual(try listing("re"), ["README.md", "manifest.json", "notes.txt", "train-00000-of-00001.jsonl.zst"])
        try assertFilesMatchManifest("re", third)
    }

    // MARK: - Dataset card

    func testCardFrontMatterAndContents() throws {
        let store = try makeStore()
        let stats = "| Subset | Rows |\n|---|---:|\n| alpaca | 12 |\n"
        let m = try Exporter.export(store: store, options: options("card", compression: .gzip), statsMarkdown: stats)
        let card = String(decoding: try bytes("card", "README.md"), as: UTF8.self)
        let header = """
        ---
        configs:
        - config_name: default
          data_files:
          - split: train
            path: "train-*.jsonl.gz"
          - split: validation
            path: "validation-*.jsonl.gz"
        dataset_info:
          features:
          - name: instruction
            dtype: string
          - name: response
            dtype: string
          - name: instruction_source
            dtype: string
          - name: response_source
            dtype: string
          - name: id
            dtype: string
          splits:
          - name: train
            num_examples: 14
          - name: validation
            num_examples: 4
        ---

        # Herd instruction corpus

        """
        XCTAssertTrue(card.hasPrefix(header), card)
        XCTAssertTrue(card.contains(stats))
        for f in m.files {
            XCTAssertTrue(card.contains("| `\(f.name)` | \(f.split) | \(f.rows) | \(f.bytes) | `\(f.sha256)` |"), f.name)
        }
        XCTAssertTrue(card.contains("load_dataset(\"json\", data_files={\n    \"train\": \"train-*.jsonl.gz\",\n    \"validation\": \"validation-*.jsonl.gz\",\n})"))
        XCTAssertTrue(card.contains("| alpaca | 10 |"))
        XCTAssertTrue(card.contains("1 row of these subsets without a response was left out."))

        // No validation rows: the split is absent from the header.
        let solo = try Exporter.export(store: store, options: options("card0", val: 0, shardRows: 100), statsMarkdown: "")
        XCTAssertEqual(DatasetCard.frontMatter(manifest: solo), """
        ---
        configs:
        - config_name: default
          data_files:
          - split: train
            path: "train-*.jsonl"
        dataset_info:
          features:
          - name: instruction
            dtype: string
          - name: response
            dtype: string
          - name: instruction_source
            dtype: string
          - name: response_source
            dtype: string
          - name: id
            dtype: string
          splits:
          - name: train
            num_examples: 18
        ---

        """)
        XCTAssertTrue(String(decoding: try bytes("card0", "README.md"), as: UTF8.self).hasPrefix(DatasetCard.frontMatter(manifest: solo)))
    }

    // MARK: - Errors

    func testOutputPathThatIsAFile() throws {
        let store = try makeStore()
        let file = scratch.appendingPathComponent("afile")
        try Data("x".utf8).write(to: file)
        var o = ExportOptions(outputDirectory: file.path)
        o.compression = .none
        XCTAssertThrowsError(try Exporter.export(store: store, options: o, statsMarkdown: "")) { error in
            XCTAssertEqual(error as? ExportError, .outputIsNotDirectory(file.path))
            XCTAssertEqual("\(error)", "\(file.path): exists and is not a folder; the export output must be a folder (it is created when missing)")
        }
        XCTAssertEqual(try Data(contentsOf: file), Data("x".utf8))
    }

    func testNothingToExport() throws {
        let store = try makeStore()
        var o = options("empty")
        o.subsets = []
        XCTAssertThrowsError(try Exporter.export(store: store, options: o, statsMarkdown: "")) { error in
            XCTAssertEqual("\(error)", "nothing to export: no subsets were named")
        }
        // A store with only a seed subset.
        let seedOnly = try Store.create(at: scratch.appendingPathComponent("seed.db").path)
        let w = try SourceWriter(store: seedOnly, uri: "s", sha256: String(repeating: "d", count: 64), bytes: 1, format: "self-instruct")
        try w.add(row("self_instruct_seed", "Seed", output: "x", record: 1), duplicateOf: nil)
        try w.add(row("noresp", "No response", output: nil, record: 2), duplicateOf: nil)
        _ = try w.commit(filtered: 0, format: "self-instruct")
        XCTAssertThrowsError(try Exporter.export(store: seedOnly, options: options("empty"), statsMarkdown: "")) { error in
            XCTAssertEqual("\(error)", "nothing to export: none of the 1 rows of noresp has a response")
        }
        let empty = try Store.create(at: scratch.appendingPathComponent("empty.db").path)
        XCTAssertThrowsError(try Exporter.export(store: empty, options: options("empty"), statsMarkdown: "")) { error in
            XCTAssertEqual("\(error)", "nothing to export: the store has no instructions")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("empty").path),
                       "nothing is created when there is nothing to export")
    }

    func testUnknownSubsetListsKnownOnes() throws {
        let store = try makeStore()
        var o = options("unknown")
        o.subsets = ["flan", "dolly", "p3"]
        XCTAssertThrowsError(try Exporter.export(store: store, options: o, statsMarkdown: "")) { error in
            XCTAssertEqual(error as? ExportError, .unknownSubsets(unknown: ["dolly", "p3"],
                                                                  known: ["alpaca", "flan", "self_instruct_seed (seed)"]))
            XCTAssertEqual("\(error)", "unknown subsets 'dolly', 'p3'; the store's subsets are: alpaca, flan, self_instruct_seed (seed)")
        }
    }

    func testInvalidOptions() throws {
        let store = try makeStore()
        for bad in [-0.1, 1.0, .nan] {
            XCTAssertThrowsError(try Exporter.export(store: store, options: options("bad", val: bad), statsMarkdown: "")) { error in
                guard case ExportError.invalidOption = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try Exporter.export(store: store, options: options("bad", shardRows: 0), statsMarkdown: ""))
    }
}
