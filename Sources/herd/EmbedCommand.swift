import ArgumentParser
import Embed
import Foundation
import Progress

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts with the built-in sentence encoder (all-MiniLM-L6-v2 by default) into a NumPy .npy file.",
        discussion: """
        One text per line of a UTF-8 file (or one string field of a JSONL file with --field) becomes \
        one row of a float32 N×D matrix, in input order: the model's WordPiece tokens (truncated to \
        its max_seq_length), the BERT forward pass on OpenBLAS, mean pooling over the real tokens and \
        L2 normalisation, as sentence-transformers computes them. Models come from `make models` \
        (minilm) and `make models-mpnet` (mpnet), in $HERD_MODELS or ~/.cache/herd/models; nothing \
        is fetched at run time.
        """)

    @Option(help: "The texts: one per line (plain, .gz/.zst/… or in an archive), or JSONL with --field.")
    var input: String

    @Option(help: "Where to write the vectors (.npy, float32, shape N×D).")
    var out: String

    @Option(help: "With a JSONL input: the string field to embed.")
    var field: String?

    @Option(help: "minilm, mpnet, or the path of a sentence-transformers folder.")
    var model = "minilm"

    @Option(help: "Sentences per forward pass.")
    var batchSize = 32

    @Option(help: "Worker threads (each runs whole batches).")
    var threads = 2

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
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
        print("\(count) texts → \(out) (\(count)×\(dimension) float32)")
    }
}
