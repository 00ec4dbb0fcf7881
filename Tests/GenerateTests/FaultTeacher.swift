import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// fault_teacher.py (beside this file) running on 127.0.0.1 for one test.
final class FaultTeacher {
    struct LogEntry: Decodable {
        var key: String
        var attempt: Int
        var fault: String?
        var status: Int?
        var answered: Bool
        var auth: String
        var t: Double
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fault_teacher.py").path

    let process = Process()
    let port: Int
    let logPath: String
    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Starts the server with `arguments` (faults, delays…), logging to `logPath`.
    init(logPath: String, arguments: [String]) throws {
        self.logPath = logPath
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script, "--log", logPath] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // The first line is the port.
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)) else {
            process.terminate()
            throw XCTSkip("fault_teacher.py did not start (python3 missing?)")
        }
        self.port = port
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    func log() throws -> [LogEntry] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { try decoder.decode(LogEntry.self, from: Data($0.utf8)) }
    }

    /// The fault fault_teacher.py gives a key: u = first 32 bits / 2^32 against the spec's ranges in order.
    static func fault(forKey key: String, spec: [(String, Double)]) -> String? {
        let u = Double(UInt32(key.prefix(8), radix: 16)!) / 4294967296.0
        var low = 0.0
        for (name, share) in spec {
            if u >= low && u < low + share { return name }
            low += share
        }
        return nil
    }

    static func specText(_ spec: [(String, Double)]) -> String {
        spec.map { "\($0.0):\($0.1)" }.joined(separator: ",")
    }
}
