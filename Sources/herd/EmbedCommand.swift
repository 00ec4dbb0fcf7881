import ArgumentParser
import Embed
import FastJSON
import Foundation
import Progress
import Store

extension EmbeddingElementType: ExpressibleByArgument {}

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed the corpus (or a sample of it) with the built-in sentence encoder, into the store or a NumPy .npy file.",
        discussion: """
        Texts go through the model's WordPiece tokenizer (truncated to its max_seq_length), the \
        BERT (MiniLM) or MPNet forward pass on OpenBLAS, mean pooling over the real tokens and L2 \
        normalisation, as sentence-transformers computes them. Models come from `make models` \
        (minilm) and `make models-mpnet` (mpnet), in $HERD_MODELS or ~/.cache/herd/models; nothing \
        is fetched at run time.

        Into the store (default): the corpus as exported (corpus subsets, first occurrences, not \
        dropped by dedup), its instructions ("instruction" or "instruction:input") or with \
        --field response its responses. --sample N [--per-subset] --seed S embeds a reproducible \
        sample (the paper's plots use 50,000 per subset). Vectors are stored with the model's name \
        and the sha256 of its weights, 2,048 per transaction: a killed run resumes where it \
        stopped, and a rerun embeds only what is missing.

        With --input/--out: one text per line of a UTF-8 file (or one string field of a JSONL \
        file with --field) becomes one row of a float32 N×D .npy matrix, in input order.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "minilm, mpnet, or the path of a sentence-transformers folder.")
    var model = "minilm"

    @Option(help: "Into the store: instruction or response. With --input: the JSONL string field to embed.")
    var field: String?

    @Option(help: "Embed a reproducible sample of this many instructions (per subset with --per-subset) instead of all.")
    var sample: Int?

    @Flag(help: "With --sample: that many from each subset.")
    var perSubset = false

    @Option(help: "Seed of the sample.")
    var seed: UInt64 = 0

    @Option(help: "How vectors are stored: float32 or float16 (half the size).")
    var dtype: EmbeddingElementType = .float32

    @Option(help: "Texts to embed outside any store: one per line (plain, .gz/.zst/… or in an archive), or JSONL with --field.")
    var input: String?

    @Option(help: "With --input: where to write the vectors (.npy, float32, shape N×D).")
    var out: String?

    @Option(help: "Sentences per forward pass.")
    var batchSize = 32

    @Option(help: "Worker threads (each runs whole batches).")
    var threads = 2

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if (input == nil) != (out == nil) { throw ValidationError("--input and --out go together") }
        if input != nil {
            if sample != nil || perSubset { throw ValidationError("--sample and --per-subset apply to the store, not --input") }
            if dtype != .float32 { throw ValidationError("--out files are float32") }
        } else {
            if let field, field != "instruction", field != "response" {
                throw ValidationError("--field must be instruction or response (a JSONL field name goes with --input)")
            }
            if let sample, sample < 1 { throw ValidationError("--sample must be at least 1") }
            if perSubset, sample == nil { throw ValidationError("--per-subset goes with --sample") }
        }
    }

    func run() throws {
        if let input, let out {
            try embedFile(input: input, out: out)
            return
        }
        var options = StoreEmbeddingOptions()
        options.field = field ?? "instruction"
        options.sample = sample
        options.perSubset = perSubset
        options.seed = seed
        options.elementType = dtype
        options.batchSize = batchSize
        options.threads = threads
        let report = try reportingErrors { () -> StoreEmbeddingReport in
            let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
            defer { store.checkpoint() }
            let encoder = try SentenceEncoder(directory: try ModelCache.resolve(model))
            var meter: ProgressMeter?
            defer { meter?.finish() }
            return try StoreEmbedder.run(store: store, encoder: encoder, options: options) { done, total in
                if meter == nil { meter = ProgressMeter(label: "embed", unit: "texts", total: Double(total)) }
                meter?.update(Double(done))
            }
        }
        if json {
            printJSON(JSONWriter.string(report.jsonValue(field: options.field)))
            return
        }
        let rate = report.embedded > 0 ? String(format: " in %.1f s (%.0f texts/s)", report.seconds, Double(report.embedded) / report.seconds) : ""
        print("embed \(options.field)s with \(report.model.name) (sha256 \(report.model.sha256.prefix(12))…, \(report.model.dimension) dimensions): "
              + "\(report.selected) selected, \(report.embedded) embedded now\(rate), \(report.alreadyEmbedded) already stored")
        let width = max(6, report.counts.map(\.subset.count).max() ?? 6)
        print("model".padding(toLength: 20, withPad: " ", startingAt: 0) + "  field        "
              + "subset".padding(toLength: width, withPad: " ", startingAt: 0) + "  dtype      vectors")
        for c in report.counts {
            print(c.model.padding(toLength: 20, withPad: " ", startingAt: 0) + "  " + c.field.padding(toLength: 11, withPad: " ", startingAt: 0) + "  "
                  + c.subset.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + c.dtype.padding(toLength: 7, withPad: " ", startingAt: 0)
                  + String(c.count).leftPadded(10))
        }
    }

    private func embedFile(input: String, out: String) throws {
        let (count, dimension) = try reportingErrors { () -> (Int, Int) in
            let encoder = try SentenceEncoder(directory: try ModelCache.resolve(model))
            let texts = try TextInput.read(path: input, field: field)
            let meter = ProgressMeter(label: "embed", unit: "texts", total: Double(texts.count))
            let lock = NSLock()
            let vectors = encoder.embed(texts, batchSize: batchSize, threads: threads) { done in
                lock.lock(); meter.update(Double(done)); lock.unlock()
            }
            meter.finish()
            try NPY.writeFloat32(vectors, shape: [texts.count, encoder.dimension], to: out)
            return (texts.count, encoder.dimension)
        }
        if json {
            printJSON(JSONWriter.string(.object([("texts", .number(String(count))), ("dimension", .number(String(dimension))), ("out", .string(out))])))
        } else {
            print("\(count) texts → \(out) (\(count)×\(dimension) float32)")
        }
    }
}

extension StoreEmbeddingReport {
    func jsonValue(field: String) -> JSONValue {
        func num(_ v: Int) -> JSONValue { .number(String(v)) }
        return .object([
            ("model", .string(model.name)), ("sha256", .string(model.sha256)), ("dimension", num(model.dimension)),
            ("field", .string(field)), ("selected", num(selected)), ("embedded", num(embedded)),
            ("already_embedded", num(alreadyEmbedded)), ("seconds", .number(String(format: "%.3f", seconds))),
            ("stored", .array(counts.map {
                .object([("model", .string($0.model)), ("field", .string($0.field)), ("subset", .string($0.subset)),
                         ("dtype", .string($0.dtype)), ("vectors", .number(String($0.count)))])
            })),
        ])
    }
}
