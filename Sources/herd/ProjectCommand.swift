import ArgumentParser
import Embed
import FastJSON
import Foundation
import Progress
import Projection
import Store

struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Project embeddings to 2-D with t-SNE (openTSNE's defaults: Barnes–Hut or FFT-interpolated forces).",
        discussion: """
        Exact nearest neighbours (min(N−1, 3·perplexity) per point, BLAS blocks), Gaussian \
        affinities calibrated by bisection to the perplexity and symmetrised, PCA initialisation \
        scaled to standard deviation 1e-4, then gradient descent with gains and momentum: \
        --early-iterations with early exaggeration, then --iterations without. The learning rate \
        is N / exaggeration unless set. Deterministic from --seed. Prints the final KL divergence.

        On the store (default): the vectors `herd embed` stored for --model and --field, or a \
        reproducible sample of --sample per subset (the same keyed draw as `herd embed --sample`, \
        so the same seed picks the same instructions). The coordinates are written in one \
        transaction with the settings and a sha256 of the input; the same settings on the same \
        vectors are not computed again.

        With --input/--out: any float32 .npy matrix (N×D) becomes an N×2 float32 .npy.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Whose vectors: minilm, mpnet, or a model name as stored.")
    var model = "minilm"

    @Option(help: "instruction or response vectors.")
    var field = "instruction"

    @Option(help: "Project a sample of this many per subset (all stored vectors when absent).")
    var sample: Int?

    @Flag(help: "With --sample: that many in all rather than per subset.")
    var sampleAcrossSubsets = false

    @Option(help: "Vectors to project outside any store (.npy, float32, N×D).")
    var input: String?

    @Option(help: "With --input: where to write the coordinates (.npy, float32, N×2).")
    var out: String?

    @Option(help: "Perplexity of the input affinities.")
    var perplexity = 30.0

    @Option(help: "Iterations with early exaggeration.")
    var earlyIterations = 250

    @Option(help: "Early exaggeration factor.")
    var exaggeration = 12.0

    @Option(help: "Iterations after early exaggeration.")
    var iterations = 500

    @Option(help: "Learning rate (default: N / exaggeration in each phase).")
    var learningRate: Double?

    @Option(help: "Momentum during early exaggeration.")
    var earlyMomentum = 0.5

    @Option(help: "Momentum afterwards.")
    var momentum = 0.8

    @Option(help: "Repulsive forces: bh (Barnes–Hut), fft (interpolation, FIt-SNE) or auto (bh below 10,000 points).")
    var method: RepulsionMethod = .auto

    @Option(help: "Barnes–Hut accuracy: cells whose side over distance is below this are summarised.")
    var theta = 0.5

    @Option(help: "Seed of the sample and of the initialisation's jitter.")
    var seed: UInt64 = 1

    @Option(help: "Worker threads.")
    var threads = 2

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        if perplexity <= 0 { throw ValidationError("--perplexity must be above 0") }
        if earlyIterations < 0 || iterations < 0 { throw ValidationError("iterations cannot be negative") }
        if let learningRate, learningRate <= 0 { throw ValidationError("--learning-rate must be above 0") }
        if theta < 0 || theta >= 1 { throw ValidationError("--theta must be in [0, 1)") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if (input == nil) != (out == nil) { throw ValidationError("--input and --out go together") }
        if let sample, sample < 4 { throw ValidationError("--sample must be at least 4") }
        if field != "instruction" && field != "response" { throw ValidationError("--field must be instruction or response") }
    }

    func run() throws {
        var options = TSNEOptions()
        options.perplexity = perplexity
        options.earlyIterations = earlyIterations
        options.earlyExaggeration = exaggeration
        options.iterations = iterations
        options.learningRate = learningRate
        options.earlyMomentum = earlyMomentum
        options.momentum = momentum
        options.theta = theta
        options.method = method
        options.seed = seed
        options.threads = threads
        guard let input, let out else {
            try projectStore(options)
            return
        }
        let (result, n) = try reportingErrors { () -> (TSNEResult, Int) in
            let matrix = try NPY.readFloat32(path: input)
            guard matrix.shape.count == 2 else { throw ProjectionError("\(input): expected a 2-D matrix, got shape \(matrix.shape)") }
            let n = matrix.shape[0], d = matrix.shape[1]
            let meter = ProgressMeter(label: "t-SNE", unit: "iterations", total: Double(earlyIterations + iterations))
            let result = try matrix.values.withUnsafeBufferPointer { points in
                try TSNE.run(points: points, n: n, d: d, options: options) { phase, done, _ in if phase == "optimise" { meter.update(Double(done)) } }
            }
            meter.finish()
            try NPY.writeFloat32(result.embedding.map { Float($0) }, shape: [n, 2], to: out)
            return (result, n)
        }
        if json {
            printJSON(JSONWriter.string(.object([
                ("points", .number(String(n))), ("kl_divergence", .number(String(result.klDivergence))),
                ("kl_after_early_exaggeration", .number(String(result.klAfterEarlyExaggeration))),
                ("seconds_neighbors", .number(String(format: "%.3f", result.seconds.neighbors))),
                ("seconds_affinities", .number(String(format: "%.3f", result.seconds.affinities))),
                ("seconds_optimization", .number(String(format: "%.3f", result.seconds.optimization))),
                ("out", .string(out)),
            ])))
        } else {
            print(String(format: "t-SNE of %d points → %@: KL divergence %.4f (%.4f after early exaggeration); neighbours %.1f s, affinities %.1f s, optimisation %.1f s",
                         n, out, result.klDivergence, result.klAfterEarlyExaggeration,
                         result.seconds.neighbors, result.seconds.affinities, result.seconds.optimization))
        }
    }

    private func projectStore(_ tsne: TSNEOptions) throws {
        var options = StoreProjectionOptions()
        options.model = ModelCache.known[model]?.folder ?? model
        options.field = field
        options.sample = sample
        options.perSubset = !sampleAcrossSubsets
        options.tsne = tsne
        let report = try reportingErrors { () -> StoreProjectionReport in
            let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
            defer { store.checkpoint() }
            var meter: ProgressMeter?
            defer { meter?.finish() }
            return try StoreProjector.run(store: store, options: options) { phase, done, total in
                guard phase == "optimise" else { return }
                if meter == nil { meter = ProgressMeter(label: "t-SNE", unit: "iterations", total: Double(total)) }
                meter?.update(Double(done))
            }
        }
        let p = report.projection
        if json {
            printJSON(JSONWriter.string(.object([
                ("projection", .number(String(p.id))), ("model", .string(p.model)), ("field", .string(p.field)),
                ("points", .number(String(p.points))), ("kl_divergence", .number(String(p.klDivergence))),
                ("reused", .bool(report.reused)), ("input_sha256", .string(p.inputSHA256)),
                ("subsets", .object(report.subsets.map { ($0.subset, .number(String($0.points))) })),
                ("seconds", .number(String(format: "%.3f", report.seconds))),
            ])))
            return
        }
        print(String(format: "projection %lld of %@ %@ vectors: %d points, KL divergence %.4f%@", p.id, p.model, p.field, p.points,
                     p.klDivergence, report.reused ? " (already in the store with these settings and vectors)" : String(format: ", %.1f s", report.seconds)))
        for s in report.subsets { print("  " + s.subset.padding(toLength: 30, withPad: " ", startingAt: 0) + String(s.points).leftPadded(9)) }
    }
}

extension RepulsionMethod: ExpressibleByArgument {}
