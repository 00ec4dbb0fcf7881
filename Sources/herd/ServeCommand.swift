import ArgumentParser
import Foundation
import LocalTeacher
import ServeApp

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the built-in teacher as an OpenAI-compatible /v1/chat/completions endpoint on 127.0.0.1.",
        discussion: """
        Other tools (and `herd generate --endpoint http://127.0.0.1:PORT`) can use the in-process model \
        over HTTP. Requests that arrive together are generated in one batch; temperature 0 decodes \
        greedily and deterministically. No streaming.
        """)

    @Option(help: "Port to listen on (0: any free port).")
    var port: UInt16 = 8080

    @Option(help: "A Llama GGUF file (default: SmolLM2-135M-Instruct from `make models`).")
    var model: String?

    @Option(help: "Requests generated together at most.")
    var batchSize = 32

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        var options = LocalTeacherOptions()
        if let model { options.modelPath = model }
        options.batchSize = batchSize
        let server = try reportingErrors { try ChatServer(teacher: try LocalTeacher(options: options), port: port) }
        let name = LocalTeacher.modelName(path: options.modelPath)
        try serveUntilStopped(run: { try await server.run() }, port: { try await server.waitForPort() }) { port in
            "serving \(name) on http://127.0.0.1:\(port)/v1/chat/completions  (Ctrl-C to stop)"
        }
    }
}
