import Foundation
import Llama
import TOML

/// `student.toml`: the shape of a fresh student and the GGUF whose tokenizer it uses.
///
///     tokenizer = "path/to/model.gguf"   # default: the built-in teacher's (SmolLM2's 49,152 tokens)
///     dimension = 256
///     layers = 8
///     heads = 4
///     kv_heads = 4
///     feed_forward = 768
///     context_length = 512
///     rope_base = 10000.0
///     norm_epsilon = 1e-5
///     tied_embeddings = true
///
/// The vocabulary is the tokenizer's. Errors name the key, file and line.
public enum StudentConfig {
    public static let keys: Set<String> = ["tokenizer", "dimension", "layers", "heads", "kv_heads", "feed_forward", "context_length",
                                           "rope_base", "norm_epsilon", "tied_embeddings"]

    public static func load(path: String) throws -> (shape: StudentShape, tokenizer: String) {
        let root = TOMLSection(try TOML.parse(contentsOfFile: path), path: "", file: path)
        for key in root.keys where !keys.contains(key) {
            throw root.error(key, "unknown key; a student config has \(keys.sorted().joined(separator: ", "))")
        }
        func required(_ key: String) throws -> Int {
            guard let v = try root.int(key) else { throw root.error(key, "missing; it must be a positive integer") }
            guard v > 0 else { throw root.error(key, "must be a positive integer") }
            return Int(v)
        }
        let tokenizer = try root.string("tokenizer") ?? BuiltInTeacher.path
        guard FileManager.default.fileExists(atPath: tokenizer) else {
            throw root.error("tokenizer", "\(tokenizer) does not exist (`make models` fetches the built-in teacher's)")
        }
        let vocabulary = try TokenizerVocabulary(gguf: try GGUFFile(path: tokenizer)).tokens.count
        let heads = try required("heads")
        let shape = StudentShape(
            vocabulary: vocabulary, dimension: try required("dimension"), layers: try required("layers"), heads: heads,
            kvHeads: try root.int("kv_heads").map(Int.init) ?? heads, feedForward: try required("feed_forward"),
            contextLength: try required("context_length"), ropeBase: Float(try root.double("rope_base") ?? 10000),
            normEpsilon: Float(try root.double("norm_epsilon") ?? 1e-5), tiedEmbeddings: try root.bool("tied_embeddings") ?? true)
        do { try shape.validate() } catch { throw TrainError("\(path): \(error)") }
        return (shape, tokenizer)
    }
}
