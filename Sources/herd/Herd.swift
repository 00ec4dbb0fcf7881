import ArgumentParser
import Foundation

@main
struct Herd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herd",
        abstract: "Build, audit and export instruction-distillation corpora (LaMini-LM style).",
        version: "0.1.0",
        subcommands: [InitCommand.self, BuildCommand.self, IngestCommand.self, TopicsCommand.self, DedupCommand.self, GenerateCommand.self, EmbedCommand.self, ProjectCommand.self, AuditCommand.self, ReportCommand.self, ServeCommand.self, TrainCommand.self, StatsCommand.self, ExportCommand.self, SchemaCommand.self]
    )
}

/// `--store PATH`, shared by every command that works on a store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store (herd.db). Default: $HERD_STORE, then ./herd.db.")
    var store: String?
}

/// Prints a library error as `herd: error: …` and exits with status 1.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        FileHandle.standardError.write(Data("herd: error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

func printJSON(_ text: String) {
    FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}

/// Runs a server until it stops (Ctrl-C ends the process), printing `banner(port)` once it listens.
func serveUntilStopped(run: @escaping @Sendable () async throws -> Void, port: @escaping @Sendable () async throws -> UInt16,
                       banner: @escaping @Sendable (UInt16) -> String) throws {
    let outcome = ServeOutcome()
    Task {
        do { try await run() } catch { outcome.error = error }
        outcome.done.signal()
    }
    Task {
        guard let port = try? await port() else { return }
        print(banner(port))
        fflush(stdout)
    }
    outcome.done.wait()
    if let error = outcome.error { _ = try reportingErrors { throw error } }
}

private final class ServeOutcome: @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    var error: Error?
}
