import Dedup
import Foundation
import Llama

/// Everything that decides a run's numbers (recorded in run.json; a resumed run must match).
public struct TrainOptions: Codable, Equatable, Sendable {
    public var steps = 100
    /// Sequences per micro-batch.
    public var batchSize = 4
    /// Micro-batches per optimizer step.
    public var accumulation = 1
    public var contextLength = 256
    public var learningRate = 3e-4
    public var warmupSteps = 10
    public var minimumLearningRateRatio = 0.1
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var maxGradientNorm: Float = 1
    /// Seeds the weights of a student made from a config (the data order is the export's).
    public var seed: UInt64 = 1
    /// Evaluate every N steps (and after the last); 0: only after the last.
    public var evalEvery = 50
    /// Validation sequences the validation loss is measured on (at most).
    public var evalSequences = 16
    /// Validation pairs answered greedily for ROUGE-L (0: none).
    public var evalSamples = 8
    public var evalMaxTokens = 64
    /// Checkpoint every N steps (and after the last).
    public var checkpointEvery = 25
    /// "f32" or "f16": the type of the student's matrices in student.gguf.
    public var outputType = "f16"
    /// Learn the prompt's tokens too (every row has a target), not the response's only.
    public var learnPrompt = false

    public init() {}

    public func validate() throws {
        guard steps > 0, batchSize > 0, accumulation > 0, contextLength >= 2 else {
            throw TrainError("steps, batch size and accumulation must be positive and the context at least 2")
        }
        guard learningRate > 0, warmupSteps >= 0, (0...1).contains(minimumLearningRateRatio), weightDecay >= 0,
              (0..<1).contains(beta1), (0..<1).contains(beta2), maxGradientNorm >= 0 else {
            throw TrainError("the learning rate must be positive, the betas in [0, 1), weight decay and clipping at least 0")
        }
        guard evalEvery >= 0, evalSequences >= 0, evalSamples >= 0, evalMaxTokens > 0, checkpointEvery > 0 else {
            throw TrainError("evaluation and checkpoint intervals must be positive")
        }
        guard outputType == "f32" || outputType == "f16" else { throw TrainError("the student is written as f32 or f16, not \(outputType)") }
    }
}

/// Where a student starts.
public enum StudentSource: Sendable {
    /// Fine-tune a GGUF model (its tokenizer comes with it).
    case gguf(path: String)
    /// A fresh student of this shape, with the tokenizer of the GGUF at `tokenizer`.
    case fresh(shape: StudentShape, tokenizer: String)
}

/// One line of metrics.jsonl.
public struct TrainMetric: Codable, Equatable, Sendable {
    public var step: Int
    /// "train" or "validation".
    public var split: String
    public var loss: Double
    public var learningRate: Double?
    public var gradientNorm: Double?
    /// Target (response) tokens the loss was averaged over.
    public var targetTokens: Int
    /// Tokens trained on so far (rows of the packed sequences), for train lines.
    public var tokensSeen: Int?
    /// Mean ROUGE-L F of greedy answers against the validation responses.
    public var rougeL: Double?

    enum CodingKeys: String, CodingKey {
        case step, split, loss, learningRate = "learning_rate", gradientNorm = "grad_norm", targetTokens = "target_tokens"
        case tokensSeen = "tokens_seen", rougeL = "rouge_l"
    }
}

/// What progress reports after each step.
public struct TrainProgress: Sendable {
    public var step: Int
    public var steps: Int
    public var loss: Double
    public var tokensPerSecond: Double
    public var secondsLeft: Double
    public var validation: TrainMetric?
}

/// The run folder: run.json, metrics.jsonl, checkpoint-STEP/ (the last two kept), student.gguf.
public final class Trainer {
    public let options: TrainOptions
    public let data: ShardDataset
    public let runDirectory: String
    public private(set) var parameters: StudentParameters
    let model: StudentModel
    let tokenizer: BPETokenizer
    let optimizer: AdamW
    let schedule: LearningRateSchedule
    var state: AdamW.State
    var cursor = DataCursor()
    /// The train shards' reader, opened at the cursor once and kept (reopening it each step
    /// would skip again through every line read so far).
    private var trainReader: PairReader?
    var packer: SequencePacker
    var pending: [PackedSequence] = []
    var tokensSeen = 0
    /// Steps finished (what the last checkpoint holds, when resumed).
    public private(set) var step = 0
    public private(set) var resumedFrom: Int?

    public init(data: ShardDataset, source: StudentSource, runDirectory: String, options: TrainOptions) throws {
        try options.validate()
        self.options = options; self.data = data; self.runDirectory = runDirectory
        let tokenizerFile: GGUFFile
        switch source {
        case let .gguf(path):
            let file = try GGUFFile(path: path)
            parameters = try StudentParameters(gguf: file)
            tokenizerFile = file
        case let .fresh(shape, tokenizerPath):
            tokenizerFile = try GGUFFile(path: tokenizerPath)
            let metadata = tokenizerFile.metadataKeys.filter { $0.hasPrefix("tokenizer.") }.map { ($0, tokenizerFile.metadata[$0]!) }
            parameters = try StudentParameters(shape: shape, seed: options.seed, tokenizerMetadata: metadata)
        }
        tokenizer = try BPETokenizer(try TokenizerVocabulary(gguf: tokenizerFile))
        guard options.contextLength <= parameters.shape.contextLength else {
            throw TrainError("--context \(options.contextLength) is longer than the student's context (\(parameters.shape.contextLength))")
        }
        model = StudentModel(shape: parameters.shape)
        optimizer = AdamW(beta1: options.beta1, beta2: options.beta2, weightDecay: options.weightDecay, maxGradientNorm: options.maxGradientNorm)
        schedule = LearningRateSchedule(peak: options.learningRate, warmupSteps: options.warmupSteps, totalSteps: options.steps,
                                        minimumRatio: options.minimumLearningRateRatio)
        state = AdamW.State(count: parameters.layout.total)
        packer = SequencePacker(contextLength: options.contextLength, paddingToken: tokenizer.eosID ?? 0)
        guard tokenizer.vocabularySize <= parameters.shape.vocabulary else {
            throw TrainError("the tokenizer has \(tokenizer.vocabularySize) tokens; the student's vocabulary \(parameters.shape.vocabulary)")
        }
        try prepareRunDirectory(source: source)
    }

    // MARK: run folder

    struct RunRecord: Codable, Equatable {
        var format = 1
        var options: TrainOptions
        var shape: StudentShape
        var dataManifestSHA256: String
        var source: String
    }

    struct CheckpointState: Codable {
        var step: Int
        var adamStep: Int
        var cursor: DataCursor
        var packer: SequencePacker
        var pending: [PackedSequence]
        var tokensSeen: Int
    }

    var metricsPath: String { runDirectory + "/metrics.jsonl" }
    public var studentPath: String { runDirectory + "/student.gguf" }

    private func prepareRunDirectory(source: StudentSource) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        let sourceName: String
        switch source {
        case let .gguf(path): sourceName = "gguf:" + (path as NSString).lastPathComponent
        case let .fresh(_, tokenizer): sourceName = "config, tokenizer " + (tokenizer as NSString).lastPathComponent
        }
        let record = RunRecord(options: options, shape: parameters.shape, dataManifestSHA256: data.manifestSHA256, source: sourceName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let bytes = try encoder.encode(record) + Data("\n".utf8)
        let recordPath = runDirectory + "/run.json"
        if let existing = fm.contents(atPath: recordPath) {
            guard let old = try? JSONDecoder().decode(RunRecord.self, from: existing), old == record else {
                throw TrainError("\(recordPath): this folder holds a different run (options, student or data differ); name a new --out")
            }
            try resumeFromLastCheckpoint()
        } else {
            try bytes.write(to: URL(fileURLWithPath: recordPath))
            try? fm.removeItem(atPath: metricsPath)
        }
    }

    func checkpointSteps() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []
        return names.compactMap { $0.hasPrefix("checkpoint-") && !$0.hasSuffix(".partial") ? Int($0.dropFirst("checkpoint-".count)) : nil }.sorted()
    }

    private func resumeFromLastCheckpoint() throws {
        guard let last = checkpointSteps().last else {
            try? FileManager.default.removeItem(atPath: metricsPath)
            return
        }
        let dir = runDirectory + "/checkpoint-\(last)"
        let st = try JSONDecoder().decode(CheckpointState.self, from: try Data(contentsOf: URL(fileURLWithPath: dir + "/state.json")))
        func floats(_ name: String) throws -> [Float] {
            let d = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
            guard d.count == parameters.layout.total * 4 else { throw TrainError("\(dir)/\(name): \(d.count) bytes; expected \(parameters.layout.total * 4)") }
            return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        parameters.values = try floats("parameters.f32")
        state.first = try floats("adam_first.f32")
        state.second = try floats("adam_second.f32")
        state.step = st.adamStep
        step = st.step; cursor = st.cursor; packer = st.packer; pending = st.pending; tokensSeen = st.tokensSeen
        resumedFrom = step
        // Lines after the checkpoint are computed again, identically.
        if let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) {
            let kept = text.split(separator: "\n").filter { line in
                guard let m = try? JSONDecoder().decode(TrainMetric.self, from: Data(line.utf8)) else { return false }
                return m.step <= step
            }
            try (kept.map { $0 + "\n" }.joined()).write(toFile: metricsPath, atomically: true, encoding: .utf8)
        }
    }

    private func writeCheckpoint() throws {
        let fm = FileManager.default
        let dir = runDirectory + "/checkpoint-\(step)"
        let partial = dir + ".partial"
        try? fm.removeItem(atPath: partial)
        try fm.createDirectory(atPath: partial, withIntermediateDirectories: true)
        func write(_ values: [Float], _ name: String) throws {
            try values.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: partial + "/" + name)) }
        }
        try write(parameters.values, "parameters.f32")
        try write(state.first, "adam_first.f32")
        try write(state.second, "adam_second.f32")
        let st = CheckpointState(step: step, adamStep: state.step, cursor: cursor, packer: packer, pending: pending, tokensSeen: tokensSeen)
        try JSONEncoder().encode(st).write(to: URL(fileURLWithPath: partial + "/state.json"))
        try? fm.removeItem(atPath: dir)
        try fm.moveItem(atPath: partial, toPath: dir)
        // Keep the last two.
        for old in checkpointSteps().dropLast(2) { try? fm.removeItem(atPath: runDirectory + "/checkpoint-\(old)") }
    }

    /// The lines of metrics.jsonl so far.
    public func metrics() throws -> [TrainMetric] {
        guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(TrainMetric.self, from: Data($0.utf8)) }
    }

    private func append(_ metric: TrainMetric) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(metric)
        line.append(UInt8(ascii: "\n"))
        if !FileManager.default.fileExists(atPath: metricsPath) { _ = FileManager.default.createFile(atPath: metricsPath, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: metricsPath))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    // MARK: data

    func encode(_ pair: InstructionPair) -> (prompt: [Int32], response: [Int32]) {
        var prompt = tokenizer.encode(AlpacaTemplate.prompt(instruction: pair.instruction))
        if tokenizer.addBOS, let bos = tokenizer.bosID { prompt.insert(bos, at: 0) }
        var response = tokenizer.encode(pair.response)
        if let eos = tokenizer.eosID { response.append(eos) }
        return (prompt, response)
    }

    /// The next `count` training sequences, continuing from the cursor.
    func nextSequences(_ count: Int) throws -> [PackedSequence] {
        let reader = trainReader ?? PairReader(files: data.trainFiles, from: cursor, repeating: true)
        trainReader = reader
        let startEpoch = cursor.epoch, pendingAtStart = pending.count
        while pending.count < count {
            // Two whole passes that closed no sequence: no pair fits (or the shards are empty).
            guard let pair = try reader.next(), reader.cursor.epoch <= startEpoch + 2 || pending.count > pendingAtStart else {
                throw TrainError("\(data.directory): the train shards hold no pair that fits a context of \(options.contextLength) tokens")
            }
            let (prompt, response) = encode(pair)
            let closed = options.learnPrompt ? packer.add(prompt: [], response: prompt + response) : packer.add(prompt: prompt, response: response)
            if let closed { pending.append(closed) }
        }
        cursor = reader.cursor
        let out = Array(pending.prefix(count))
        pending.removeFirst(count)
        return out
    }

    /// What every evaluation uses: the validation sequences the loss is measured on, and the
    /// pairs answered for ROUGE-L with their prompts' tokens.
    struct ValidationSet {
        var sequences: [PackedSequence] = []
        var samples: [(pair: InstructionPair, prompt: [Int32])] = []
    }

    func validationSet() throws -> ValidationSet {
        let reader = PairReader(files: data.validationFiles, repeating: false)
        var packer = SequencePacker(contextLength: options.contextLength, paddingToken: tokenizer.eosID ?? 0)
        var set = ValidationSet()
        while set.sequences.count < options.evalSequences || set.samples.count < options.evalSamples, let pair = try reader.next() {
            let (prompt, response) = encode(pair)
            if set.samples.count < options.evalSamples { set.samples.append((pair, prompt)) }
            if set.sequences.count < options.evalSequences, let closed = packer.add(prompt: prompt, response: response) { set.sequences.append(closed) }
        }
        if set.sequences.count < options.evalSequences, let last = packer.finish() { set.sequences.append(last) }
        return set
    }

    // MARK: training

    /// Runs (or resumes) to `options.steps`, then writes student.gguf.
    public func run(progress: (TrainProgress) throws -> Void = { _ in }) throws {
        let validation = try validationSet()
        let started = Date()
        let firstStep = step
        var gradients = [Float](repeating: 0, count: parameters.layout.total)
        while step < options.steps {
            let micro = try (0..<options.accumulation).map { _ in TrainBatch(sequences: try nextSequences(options.batchSize)) }
            let targets = micro.reduce(0) { $0 + $1.targetCount }
            for i in gradients.indices { gradients[i] = 0 }
            var lossSum = 0.0
            if targets > 0 {
                for batch in micro {
                    lossSum += try gradients.withUnsafeMutableBufferPointer {
                        try model.loss(parameters: parameters.values, batch: batch, scale: 1 / Float(targets), gradients: $0.baseAddress!)
                    }
                }
            }
            let rate = schedule.rate(step: step)
            let norm = optimizer.update(parameters: &parameters.values, gradients: &gradients, state: &state, layout: parameters.layout, rate: rate)
            step += 1
            tokensSeen += micro.reduce(0) { $0 + $1.rows }
            let loss = targets > 0 ? lossSum / Double(targets) : 0
            try append(TrainMetric(step: step, split: "train", loss: loss, learningRate: rate, gradientNorm: norm,
                                   targetTokens: targets, tokensSeen: tokensSeen))
            var evaluated: TrainMetric?
            if step == options.steps || (options.evalEvery > 0 && step % options.evalEvery == 0) {
                evaluated = try evaluate(validation)
                if let evaluated { try append(evaluated) }
            }
            if step == options.steps || step % options.checkpointEvery == 0 { try writeCheckpoint() }
            let elapsed = Date().timeIntervalSince(started)
            let rowsPerStep = Double(options.batchSize * options.accumulation * options.contextLength)
            let perStep = elapsed / Double(step - firstStep)
            try progress(TrainProgress(step: step, steps: options.steps, loss: loss, tokensPerSecond: rowsPerStep / perStep,
                                   secondsLeft: perStep * Double(options.steps - step), validation: evaluated))
        }
        try parameters.gguf(name: (runDirectory as NSString).lastPathComponent, type: options.outputType == "f32" ? .f32 : .f16)
            .write(to: studentPath)
    }

    /// Validation loss over the validation sequences, and mean ROUGE-L F of greedy answers.
    func evaluate(_ set: ValidationSet) throws -> TrainMetric? {
        guard !set.sequences.isEmpty else { return nil }
        var lossSum = 0.0, targets = 0
        for chunk in stride(from: 0, to: set.sequences.count, by: options.batchSize) {
            let batch = TrainBatch(sequences: Array(set.sequences[chunk..<min(set.sequences.count, chunk + options.batchSize)]))
            lossSum += try model.loss(parameters: parameters.values, batch: batch, gradients: nil)
            targets += batch.targetCount
        }
        var rouge: Double?
        if !set.samples.isEmpty { rouge = try rougeL(set.samples) }
        return TrainMetric(step: step, split: "validation", loss: targets > 0 ? lossSum / Double(targets) : 0, targetTokens: targets, rougeL: rouge)
    }

    /// Answers greedily with the built-in engine on the current weights (written as F32) and
    /// scores each answer against the reference response with the Dedup module's ROUGE-L.
    func rougeL(_ samples: [(pair: InstructionPair, prompt: [Int32])]) throws -> Double {
        let path = runDirectory + "/evaluation.gguf"
        try parameters.gguf(name: "evaluation", type: .f32).write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let engine = LlamaGenerator(model: try LlamaModel(gguf: try GGUFFile(path: path)))
        let prompts = samples.map { Array($0.prompt.suffix(options.contextLength - 1)) }
        let stops = Set([tokenizer.eosID].compactMap { $0 } + ["<|im_end|>", "<|endoftext|>"].compactMap { tokenizer.id(of: $0) })
        let results = try engine.generate(prompts: prompts, seeds: prompts.map { _ in 0 },
                                          options: GenerationOptions(maxTokens: options.evalMaxTokens, temperature: 0, stopTokens: stops))
        var total = 0.0
        for (sample, result) in zip(samples, results) {
            let answer = tokenizer.decode(result.tokens.filter { !stops.contains($0) })
            total += RougeL.score(target: sample.pair.response, prediction: answer).fmeasure
        }
        return total / Double(samples.count)
    }
}
