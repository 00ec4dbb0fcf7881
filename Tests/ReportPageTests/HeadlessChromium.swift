import Foundation
import XCTest

/// Debian's `chromium` run headless on a file: its DOM after the page has loaded, or a screenshot.
struct HeadlessChromium {
    let executable: String
    /// A fresh profile per run, so runs neither share state nor wait on each other's locks.
    let scratch: URL

    /// The browser and its version, or a skip when it is not installed (`apt-get install -y
    /// chromium`) or cannot run here.
    static func find(scratch: URL) throws -> (HeadlessChromium, version: String) {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        guard let executable = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("chromium is not installed (apt-get install -y chromium)")
        }
        let chromium = HeadlessChromium(executable: executable, scratch: scratch)
        do {
            return (chromium, try chromium.run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw XCTSkip("chromium cannot run here: \(error)")
        }
    }

    struct Run {
        let stdout: String
        let stderr: String
        let seconds: Double
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The page's DOM, serialised once it has loaded, on a screen of `scale` device pixels per CSS
    /// pixel; console messages are in `stderr`.
    func dumpDOM(of page: URL, windowSize: (Int, Int), scale: Int = 1) throws -> Run {
        try run(pageArguments(windowSize) + ["--force-device-scale-factor=\(scale)", "--enable-logging=stderr", "--v=0",
                                             "--dump-dom", page.absoluteString])
    }

    func screenshot(of page: URL, windowSize: (Int, Int), to png: URL) throws -> Run {
        try run(pageArguments(windowSize) + ["--hide-scrollbars", "--screenshot=\(png.path)", page.absoluteString])
    }

    private func pageArguments(_ windowSize: (Int, Int)) -> [String] {
        let profile = scratch.appendingPathComponent("profile-\(UUID().uuidString)")
        return ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)",
                "--window-size=\(windowSize.0),\(windowSize.1)"]
    }

    /// Runs the browser with its output in files (a DOM dump holds megabytes of embedded data,
    /// more than a pipe buffers), killed after a minute if it hangs.
    private func run(_ arguments: [String]) throws -> Run {
        let id = UUID().uuidString
        let stdoutURL = scratch.appendingPathComponent("stdout-\(id)"), stderrURL = scratch.appendingPathComponent("stderr-\(id)")
        try Data().write(to: stdoutURL)
        try Data().write(to: stderrURL)
        let stdout = try FileHandle(forWritingTo: stdoutURL), stderr = try FileHandle(forWritingTo: stderrURL)
        defer { try? stdout.close(); try? stderr.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = stdout
        process.standardError = stderr
        let started = Date()
        try process.run()
        let watchdog = DispatchWorkItem { process.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
        let seconds = Date().timeIntervalSince(started)
        let run = Run(stdout: String(decoding: try Data(contentsOf: stdoutURL), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: stderrURL), as: UTF8.self), seconds: seconds)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "chromium exited with \(process.terminationStatus): \(run.stderr.suffix(2000))")
        }
        return run
    }
}
