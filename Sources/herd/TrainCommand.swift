import ArgumentParser
import Foundation
import Progress
import Store
import Train

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a Llama-architecture student on exported shards and write it as GGUF.",
        discussion: """
        Reads an export folder (herd export, JSONL shards), checks every shard's sha256 against the manifest, \
        wraps each pair in the Alpaca prompt LaMini-LM used, learns the response tokens only, and packs whole \
        examples into sequences of --context tokens. AdamW with warm-up then cosine decay, gradient clipping \
        and accumulation. Writes RUN_DIR/metrics.jsonl (train loss each step; validation loss and ROUGE-L of \
        greedy answers every --eval-every steps), RUN_DIR/checkpoint-STEP/ and, at the end, RUN_DIR/student.gguf, \
        which --teacher local, herd serve and llama.cpp load. Run the same command again to resume from the \
        last checkpoint: the losses are the same as an unbroken run's.
        """)

    @Option(help: "The export folder to train on (holds manifest.json).")
    var data: String

    @Option(help: "The run folder: metrics, checkpoints and the trained student.")
    var out: String

    @Option(help: "Fine-tune this Llama GGUF (F32, F16, Q8_0, Q4_0 or Q4_1).")
    var initFrom: String?

    @Option(help: "Train a fresh student of the shape in this TOML file (see README).")
    var config: String?

    @Option(help: "Optimizer steps.")
    var steps = 100
    @Option(help: "Sequences per micro-batch.")
    var batchSize = 4
    @Option(help: "Micro-batches whose gradients add up to one step.")
    var accumulation = 1
    @Option(help: "Tokens per packed sequence.")
    var context = 256
    @Option(help: "Peak learning rate.")
    var lr = 3e-4
    @Option(help: "Warm-up steps (linear), before the cosine decay.")
    var warmup = 10
    @Option(help: "The learning rate's floor, as a share of the peak.")
    var minLrRatio = 0.1
    @Option(help: "AdamW's decoupled weight decay (matrices only).")
    var weightDecay: Float = 0.1
    @Option(help: "Clip the global gradient norm to this (0: no clipping).")
    var clip: Float = 1
    @Option(help: "Seed of a fresh student's weights.")
    var seed: UInt64 = 1
    @Option(help: "Evaluate on the validation split every N steps (0: at the end only).")
    var evalEvery = 50
    @Option(help: "Validation sequences the validation loss is measured on.")
    var evalSequences = 16
    @Option(help: "Validation pairs answered greedily for ROUGE-L (0: none).")
    var evalSamples = 8
    @Option(help: "Tokens per greedy answer at most.")
    var evalMaxTokens = 64
    @Option(help: "Checkpoint every N steps.")
    var checkpointEvery = 25
    @Option(help: "Type of the student's matrices in student.gguf: f16 or f32.")
    var dtype = "f16"

    @Flag(help: "Learn the prompt's tokens too, not only the response's.")
    var learnPrompt = false

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Record the run's curves in the store (--store, $HERD_STORE or ./herd.db) for herd report.")
    var record = false

    func validate() throws {
        if (initFrom == nil) == (config == nil) { throw ValidationError("give one of --init-from MODEL.gguf and --config student.toml") }
        if dtype != "f16" && dtype != "f32" { throw ValidationError("--dtype is f16 or f32") }
    }

    var options: TrainOptions {
        var o = TrainOptions()
        o.steps = steps; o.batchSize = batchSize; o.accumulation = accumulation; o.contextLength = context
        o.learningRate = lr; o.warmupSteps = warmup; o.minimumLearningRateRatio = minLrRatio; o.weightDecay = weightDecay
        o.maxGradientNorm = clip; o.seed = seed; o.evalEvery = evalEvery; o.evalSequences = evalSequences
        o.evalSamples = evalSamples; o.evalMaxTokens = evalMaxTokens; o.checkpointEvery = checkpointEvery; o.outputType = dtype
        o.learnPrompt = learnPrompt
        return o
    }

    func run() throws {
        let trainer = try reportingErrors {
            let dataset = try ShardDataset(directory: data)
            let source: StudentSource
            if let initFrom { source = .gguf(path: initFrom) } else {
                let c = try StudentConfig.load(path: config!)
                source = .fresh(shape: c.shape, tokenizer: c.tokenizer)
            }
            return try Trainer(data: dataset, source: source, runDirectory: out, options: options)
        }
        let shape = trainer.parameters.shape
        if let from = trainer.resumedFrom { print("resuming \(out) after step \(from)") }
        print("student: \(trainer.parameters.layout.total) parameters (\(shape.layers) layers, width \(shape.dimension), vocabulary \(shape.vocabulary))")
        let meter = ProgressMeter(label: "train", unit: "steps", total: Double(steps))
        try reportingErrors {
            try trainer.run { p in
                let eta = p.secondsLeft.isFinite ? String(format: "%.0f s left", p.secondsLeft) : ""
                meter.update(Double(p.step), note: String(format: "loss %.4f, %.0f tokens/s, %@", p.loss, p.tokensPerSecond, eta))
                if let v = p.validation {
                    let rouge = v.rougeL.map { String(format: ", ROUGE-L %.4f", $0) } ?? ""
                    FileHandle.standardError.write(Data(String(format: "\nstep %d: validation loss %.4f%@\n", p.step, v.loss, rouge).utf8))
                }
            }
        }
        meter.finish()
        let metrics = try reportingErrors { try trainer.metrics() }
        if record {
            try reportingErrors {
                let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
                let points = metrics.map { TrainingPoint(step: $0.step, split: $0.split, loss: $0.loss, rougeL: $0.rougeL) }
                try store.replaceTrainingRun(name: (out as NSString).lastPathComponent, directory: out, points: points)
            }
        }
        print("trained \(steps) steps; student \(trainer.studentPath)")
        if let v = metrics.last(where: { $0.split == "validation" }) {
            let rouge = v.rougeL.map { String(format: ", ROUGE-L %.4f", $0) } ?? ""
            print(String(format: "validation loss %.4f after step %d%@", v.loss, v.step, rouge))
        }
    }
}
