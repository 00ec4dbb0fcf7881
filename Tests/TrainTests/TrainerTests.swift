import Checksums
import Export
import Foundation
import Llama
@testable import Train
import XCTest

/// The trainer end to end on Alpaca's first 200 pairs (fixtures/alpaca), with the built-in
/// teacher's tokenizer (`make models`).
final class TrainerTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "herd-train-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// An export folder as herd export writes it: 180 train pairs in two shards, 20 validation.
    func alpacaExport() throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.repository + "/fixtures/alpaca/alpaca_data_first200.json"))
        let rows = try JSONSerialization.jsonObject(with: data) as! [[String: String]]
        let dir = try temporaryDirectory()
        var files: [ManifestFile] = []
        func write(_ name: String, _ split: String, _ part: ArraySlice<[String: String]>) throws {
            var text = ""
            for (i, r) in zip(part.indices, part) {
                let instruction = r["input"]!.isEmpty ? r["instruction"]! : r["instruction"]! + "\n\n" + r["input"]!
                let line = try JSONSerialization.data(withJSONObject: ["instruction": instruction, "response": r["output"]!, "id": "alpaca-\(i)"],
                                                      options: [.sortedKeys])
                text += String(decoding: line, as: UTF8.self) + "\n"
            }
            let bytes = Array(text.utf8)
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
            files.append(ManifestFile(name: name, split: split, rows: Int64(part.count), bytes: Int64(bytes.count),
                                      sha256: SHA256.hex(bytes), uncompressedBytes: Int64(bytes.count)))
        }
        try write("train-00000-of-00002.jsonl", "train", rows[20..<110])
        try write("train-00001-of-00002.jsonl", "train", rows[110..<200])
        try write("validation-00000-of-00001.jsonl", "validation", rows[0..<20])
        let manifest = ExportManifest(format: "jsonl", compression: "none", seed: 1, valFraction: 0.1, shardRows: 90,
                                      columns: ["instruction", "response", "id"], files: files,
                                      totals: .init(rows: 200, bytes: 0, uncompressedBytes: 0, rowsPerSplit: ["train": 180, "validation": 20],
                                                    rowsPerSubset: [:], skippedWithoutResponse: 0))
        try Data(try manifest.encoded()).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        return dir
    }

    static let tinyShape = StudentShape(vocabulary: 49152, dimension: 64, layers: 2, heads: 4, kvHeads: 2, feedForward: 128, contextLength: 256)

    func options(steps: Int) -> TrainOptions {
        var o = TrainOptions()
        o.steps = steps; o.batchSize = 2; o.contextLength = 128; o.learningRate = 3e-3; o.warmupSteps = 3
        o.evalEvery = 10; o.evalSequences = 4; o.evalSamples = 2; o.evalMaxTokens = 8; o.checkpointEvery = 4
        return o
    }

    func requireTokenizer() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: BuiltInTeacher.path), "make models fetches the tokenizer's model")
    }

    func testLossFallsOnAlpacaSample() throws {
        try requireTokenizer()
        let data = try ShardDataset(directory: try alpacaExport())
        XCTAssertEqual(data.trainFiles.count, 2)
        let run = try temporaryDirectory() + "/run"
        let trainer = try Trainer(data: data, source: .fresh(shape: Self.tinyShape, tokenizer: BuiltInTeacher.path), runDirectory: run, options: options(steps: 30))
        try trainer.run()
        let metrics = try trainer.metrics()
        let train = metrics.filter { $0.split == "train" }, validation = metrics.filter { $0.split == "validation" }
        XCTAssertEqual(train.map(\.step), Array(1...30))
        XCTAssertEqual(validation.map(\.step), [10, 20, 30])
        // A fresh student starts near ln(49152) = 10.80 nats per token and learns.
        XCTAssertEqual(train[0].loss, log(49152), accuracy: 0.05)
        let first = train.prefix(5).map(\.loss).reduce(0, +) / 5, last = train.suffix(5).map(\.loss).reduce(0, +) / 5
        XCTAssertLessThan(last, first - 1.5, "train loss \(first) → \(last)")
        XCTAssertLessThan(validation[2].loss, validation[0].loss - 0.5, "validation loss \(validation.map(\.loss))")
        XCTAssertNotNil(validation[2].rougeL)
        // Every row of every step is a packed token: 2 sequences × 128.
        XCTAssertEqual(train.last!.tokensSeen, 30 * 256)
    }

    /// Stopped after step 6 (the last checkpoint at 4) and started again: the same metrics and
    /// the same student, byte for byte, as an unbroken run.
    func testResumedRunEqualsUnbrokenRun() throws {
        try requireTokenizer()
        let data = try ShardDataset(directory: try alpacaExport())
        let root = try temporaryDirectory()
        let source = StudentSource.fresh(shape: Self.tinyShape, tokenizer: BuiltInTeacher.path)
        var o = options(steps: 12)
        o.evalEvery = 5; o.accumulation = 2
        try Trainer(data: data, source: source, runDirectory: root + "/unbroken", options: o).run()

        struct Stop: Error {}
        let broken = try Trainer(data: data, source: source, runDirectory: root + "/broken", options: o)
        XCTAssertThrowsError(try broken.run { if $0.step == 6 { throw Stop() } })
        XCTAssertEqual(broken.checkpointSteps(), [4])
        let resumed = try Trainer(data: data, source: source, runDirectory: root + "/broken", options: o)
        XCTAssertEqual(resumed.resumedFrom, 4)
        try resumed.run()
        let a = try Data(contentsOf: URL(fileURLWithPath: root + "/unbroken/metrics.jsonl"))
        XCTAssertEqual(a, try Data(contentsOf: URL(fileURLWithPath: root + "/broken/metrics.jsonl")))
        XCTAssertEqual(String(decoding: a, as: UTF8.self).split(separator: "\n").count, 12 + 3)
        // The students differ only in their names (the run folders').
        let unbroken = try StudentParameters(gguf: try GGUFFile(path: root + "/unbroken/student.gguf"))
        let resumedStudent = try StudentParameters(gguf: try GGUFFile(path: root + "/broken/student.gguf"))
        XCTAssertEqual(unbroken.values, resumedStudent.values)
        // A different run in the same folder is refused.
        o.learningRate = 1e-3
        XCTAssertThrowsError(try Trainer(data: data, source: source, runDirectory: root + "/broken", options: o)) {
            XCTAssertTrue("\($0)".contains("holds a different run"), "\($0)")
        }
    }

    /// student.gguf (F32) loads in the built-in engine, whose logits match the trainer's forward pass.
    func testStudentLoadsInTheEngine() throws {
        try requireTokenizer()
        let data = try ShardDataset(directory: try alpacaExport())
        let run = try temporaryDirectory() + "/run"
        var o = options(steps: 3)
        o.outputType = "f32"; o.evalSamples = 0
        let trainer = try Trainer(data: data, source: .fresh(shape: Self.tinyShape, tokenizer: BuiltInTeacher.path), runDirectory: run, options: o)
        try trainer.run()
        let file = try GGUFFile(path: trainer.studentPath)
        let engine = try LlamaModel(gguf: file)
        XCTAssertEqual(try BPETokenizer(try TokenizerVocabulary(gguf: file)).vocabularySize, 49152)
        XCTAssertEqual(try StudentParameters(gguf: file).values, trainer.parameters.values)
        let tokens: [Int32] = [504, 3458, 314, 253, 3287, 30, 198, 1012]
        let n = tokens.count
        let logits = try engine.forward(tokens: tokens, sequence: Array(repeating: 0, count: n), caches: [KVCache(config: engine.config, capacity: 16)],
                                        logitRows: [n - 1])
        // The trainer's log-probability of each token after the prompt, from its own forward pass.
        let model = StudentModel(shape: trainer.parameters.shape)
        let top = logits.indices.max { logits[$0] < logits[$1] }!
        let lse = log(logits.reduce(0.0) { $0 + exp(Double($1) - Double(logits[top])) }) + Double(logits[top])
        for candidate in [Int32(top), 0, 1000] {
            let batch = TrainBatch(tokens: tokens, positions: (0..<n).map(Int32.init), documentStart: Array(repeating: 0, count: n),
                                   targets: Array(repeating: -1, count: n - 1) + [candidate])
            let nll = try model.loss(parameters: trainer.parameters.values, batch: batch, gradients: nil)
            XCTAssertEqual(nll, lse - Double(logits[Int(candidate)]), accuracy: 2e-3, "token \(candidate)")
        }
    }

    /// A context too short for any prompt: a clear error, not an endless pass over the shards.
    func testNoPairFitsTheContext() throws {
        try requireTokenizer()
        let data = try ShardDataset(directory: try alpacaExport())
        var o = options(steps: 2)
        o.contextLength = 8
        let trainer = try Trainer(data: data, source: .fresh(shape: Self.tinyShape, tokenizer: BuiltInTeacher.path),
                                  runDirectory: try temporaryDirectory() + "/run", options: o)
        XCTAssertThrowsError(try trainer.run()) { XCTAssertTrue("\($0)".hasSuffix("the train shards hold no pair that fits a context of 8 tokens"), "\($0)") }
    }

    func testDamagedShardIsRefused() throws {
        let dir = try alpacaExport()
        let path = dir + "/train-00001-of-00002.jsonl"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[100] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ShardDataset(directory: dir)) {
            XCTAssertTrue("\($0)".hasPrefix(path + ": sha256 "), "\($0)")
            XCTAssertTrue("\($0)".contains("differs from the manifest's"), "\($0)")
        }
    }

    func testPackingKeepsWholeExamplesAndLearnsResponsesOnly() {
        var packer = SequencePacker(contextLength: 8, paddingToken: 0)
        XCTAssertNil(packer.add(prompt: [10, 11, 12], response: [20, 21]))      // 4 rows
        XCTAssertNil(packer.add(prompt: [13], response: [22, 23]))              // 2 rows: 6 in all
        let closed = packer.add(prompt: [14, 15], response: [24, 25])           // 3 rows do not fit: closes
        XCTAssertEqual(closed, PackedSequence(tokens: [10, 11, 12, 20, 13, 22, 0, 0], positions: [0, 1, 2, 3, 0, 1, 0, 1],
                                              documentStart: [0, 0, 0, 0, 4, 4, 6, 6], targets: [-1, -1, 20, 21, 22, 23, -1, -1]))
        XCTAssertEqual(packer.open, PackedSequence(tokens: [14, 15, 24], positions: [0, 1, 2], documentStart: [0, 0, 0], targets: [-1, 24, 25]))
        // Too long: cut to the context; a prompt that fills it leaves nothing to learn and is skipped.
        XCTAssertNil(packer.add(prompt: Array(0..<9), response: [1]))
        XCTAssertEqual(packer.skipped, 1)
        let long = packer.add(prompt: [1, 2], response: Array(30..<40))
        XCTAssertEqual(long?.tokens, [14, 15, 24, 0, 0, 0, 0, 0])
        XCTAssertEqual(packer.open.tokens, [1, 2, 30, 31, 32, 33, 34, 35])
        XCTAssertEqual(packer.open.targets, [-1, 30, 31, 32, 33, 34, 35, 36])
        let batch = TrainBatch(sequences: [closed!, packer.finish()!])
        XCTAssertEqual(batch.documentStart, [0, 0, 0, 0, 4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8])
    }

    func testSchedule() {
        let s = LearningRateSchedule(peak: 1e-3, warmupSteps: 4, totalSteps: 14, minimumRatio: 0.1)
        XCTAssertEqual((0..<4).map { s.rate(step: $0) }, [2.5e-4, 5e-4, 7.5e-4, 1e-3])
        XCTAssertEqual(s.rate(step: 9), 5.5e-4, accuracy: 1e-15)   // half way down the cosine
        XCTAssertEqual(s.rate(step: 14), 1e-4, accuracy: 1e-15)
        XCTAssertEqual(s.rate(step: 20), 1e-4, accuracy: 1e-15)
    }
}
