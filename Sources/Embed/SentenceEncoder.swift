import Checksums
import COpenBLAS
import FastJSON
import Foundation

/// Where models live: `$HERD_MODELS`, else `~/.cache/herd/models`; `make models` puts them there.
public enum ModelCache {
    public static var directory: String {
        if let env = ProcessInfo.processInfo.environment["HERD_MODELS"], !env.isEmpty { return env }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".cache/herd/models")
    }

    /// The built-in names and the make target that fetches each.
    public static let known: [String: (folder: String, target: String)] = [
        "minilm": ("all-MiniLM-L6-v2", "make models"),
        "mpnet": ("all-mpnet-base-v2", "make models-mpnet"),
    ]

    /// A model's folder from a built-in name (minilm, mpnet) or a path; a missing model says
    /// which make target fetches it.
    public static func resolve(_ nameOrPath: String) throws -> String {
        if let k = known[nameOrPath] {
            let folder = (directory as NSString).appendingPathComponent(k.folder)
            guard FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("model.safetensors")) else {
                throw ModelFileError("model \(k.folder) is not in \(directory): run `\(k.target)` to fetch it (nothing is fetched at run time)")
            }
            return folder
        }
        guard FileManager.default.fileExists(atPath: (nameOrPath as NSString).appendingPathComponent("model.safetensors")) else {
            throw ModelFileError("\(nameOrPath): no model.safetensors here (expected minilm, mpnet or a sentence-transformers folder)")
        }
        return nameOrPath
    }
}

/// A sentence-transformers model folder: tokenizer, BERT or MPNet encoder, mean pooling and (when the
/// folder's modules.json lists it) L2 normalisation.
public final class SentenceEncoder: @unchecked Sendable {
    public let directory: String
    public let tokenizer: WordPieceTokenizer
    public let encoder: BertEncoder
    public var dimension: Int { encoder.config.hidden }
    /// The folder's name (all-MiniLM-L6-v2): how the store and reports name the model.
    public var name: String { URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent }

    /// sha256 of model.safetensors, so that vectors of different weights are never mixed.
    public func weightsSHA256() throws -> String {
        let path = (directory as NSString).appendingPathComponent("model.safetensors")
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ModelFileError("\(path): cannot be read") }
        defer { try? handle.close() }
        let hasher = SHA256Hasher()
        while let block = try handle.read(upToCount: 4 << 20), !block.isEmpty { hasher.update(block) }
        return hasher.finalizeHex()
    }

    public init(directory: String) throws {
        self.directory = directory
        func file(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        tokenizer = try WordPieceTokenizer(modelDirectory: directory)
        let config = try BertConfig.load(path: file("config.json"))
        var normalize = false
        if let data = FileManager.default.contents(atPath: file("modules.json")) {
            normalize = String(decoding: data, as: UTF8.self).contains("sentence_transformers.models.Normalize")
        }
        if let data = FileManager.default.contents(atPath: file("1_Pooling/config.json")),
           let pooling = try? JSONParser.parse(Array(data)), case .bool(false)? = pooling["pooling_mode_mean_tokens"] {
            throw ModelFileError("\(file("1_Pooling/config.json")): only mean pooling is supported")
        }
        guard tokenizer.maxLength + config.positionOffset <= config.maxPositions else {
            throw ModelFileError("\(directory): max length \(tokenizer.maxLength) exceeds the \(config.maxPositions - config.positionOffset) positions")
        }
        encoder = try BertEncoder(config: config, weights: try SafeTensorsFile(path: file("model.safetensors")), normalize: normalize)
    }

    /// Embeds `texts` into [N × D] (row i is text i). Texts are sorted by token count and cut into
    /// batches of similar length, so padding costs little; `threads` workers each run whole
    /// batches with single-threaded BLAS (small products scale better that way than split ones).
    public func embed(_ texts: [String], batchSize: Int = 32, threads: Int = 2,
                      progress: ((Int) -> Void)? = nil) -> [Float] {
        let ids = texts.map { tokenizer.encode($0) }
        let order = ids.indices.sorted { ids[$0].count != ids[$1].count ? ids[$0].count < ids[$1].count : $0 < $1 }
        let batches = stride(from: 0, to: order.count, by: max(1, batchSize)).map { Array(order[$0..<min($0 + batchSize, order.count)]) }
        let d = dimension
        var out = [Float](repeating: 0, count: texts.count * d)
        let lock = NSLock()
        var next = 0, done = 0
        openblas_set_num_threads(1)
        out.withUnsafeMutableBufferPointer { result in
            let sink = result
            DispatchQueue.concurrentPerform(iterations: max(1, min(threads, batches.count))) { _ in
                while true {
                    lock.lock()
                    let k = next
                    next += 1
                    lock.unlock()
                    guard k < batches.count else { return }
                    let batch = batches[k]
                    let vectors = encoder.embed(batch.map { ids[$0] })
                    for (row, index) in batch.enumerated() {
                        for j in 0..<d { sink[index * d + j] = vectors[row * d + j] }
                    }
                    lock.lock()
                    done += batch.count
                    let reported = done
                    lock.unlock()
                    progress?(reported)
                }
            }
        }
        return out
    }
}
