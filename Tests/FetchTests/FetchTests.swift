import Checksums
import Fetch
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The payload misbehaving_server.py serves at every path: byte i = (i*31 + 7) % 251.
private let payloadSize = 3_000_000
private let payload: [UInt8] = {
    let period = (0..<251).map { UInt8(($0 * 31 + 7) % 251) }
    var bytes = [UInt8]()
    bytes.reserveCapacity(payloadSize + period.count)
    while bytes.count < payloadSize { bytes.append(contentsOf: period) }
    return Array(bytes[0..<payloadSize])
}()
private let payloadSHA = SHA256.hex(payload)

/// One request as the server logged it.
private struct LoggedRequest: Decodable, Equatable {
    var path: String
    var range: String?
    var agent: String?
}

final class FetchTests: XCTestCase {
    private var server: Process!
    private var port = 0
    private var directory = ""
    private var logPath = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "herd-fetch-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        logPath = directory + "/requests.jsonl"

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("misbehaving_server.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--log", logPath]
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        server = process

        // The first stdout line is the port.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        port = try XCTUnwrap(Int(text), "server printed \(text.debugDescription) instead of a port")
    }

    override func tearDownWithError() throws {
        if let server, server.isRunning {
            server.terminate()
            server.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Helpers

    private func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    private func destination(_ name: String = "payload.bin") -> String { directory + "/" + name }

    private func requests() throws -> [LoggedRequest] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map {
            try JSONDecoder().decode(LoggedRequest.self, from: Data($0.utf8))
        }
    }

    private func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    private func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    private func fastDownloader(maxAttempts: Int = 5, lowSpeedTimeout: Int = 60) -> Downloader {
        Downloader(maxAttempts: maxAttempts, retryDelay: 0.01, connectTimeout: 5, lowSpeedTimeout: lowSpeedTimeout)
    }

    /// Asserts that `body` throws a FetchError and returns it.
    private func fetchError(_ body: () throws -> DownloadResult,
                            file: StaticString = #filePath, line: UInt = #line) -> FetchError? {
        do {
            let result = try body()
            XCTFail("expected a FetchError, got \(result)", file: file, line: line)
        } catch let error as FetchError {
            return error
        } catch {
            XCTFail("expected a FetchError, got \(error)", file: file, line: line)
        }
        return nil
    }

    private func assertPayload(at path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try SHA256.hexOfFile(atPath: path), payloadSHA, file: file, line: line)
        XCTAssertFalse(exists(path + ".part"), "the .part file should be gone", file: file, line: line)
    }

    // MARK: Downloads

    func testOkDownloadsTheWholePayload() throws {
        var calls: [(Int64, Int64?)] = []
        let dest = destination()
        let result = try fastDownloader().download(url: url("/ok"), to: dest) { calls.append(($0, $1)) }
        XCTAssertEqual(result, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 0, attempts: 1))
        try assertPayload(at: dest)
        XCTAssertEqual(try requests(), [LoggedRequest(path: "/ok", range: nil, agent: "herd/0.1")])
        XCTAssertFalse(calls.isEmpty)
        XCTAssertEqual(calls.last?.0, 3_000_000)
        XCTAssertEqual(calls.last?.1, 3_000_000)
        XCTAssertEqual(calls.map(\.0), calls.map(\.0).sorted(), "progress never goes backwards")
    }

    func testExpectedSHAThatMatchesIsAccepted() throws {
        let dest = destination()
        let result = try fastDownloader().download(url: url("/ok"), to: dest, expectedSHA256: payloadSHA.uppercased())
        XCTAssertEqual(result.sha256, payloadSHA)
        try assertPayload(at: dest)
    }

    func testRedirectIsFollowed() throws {
        let dest = destination()
        let result = try fastDownloader().download(url: url("/redirect"), to: dest)
        XCTAssertEqual(result, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 0, attempts: 1))
        XCTAssertEqual(try requests().map(\.path), ["/redirect", "/ok"])
    }

    func testDroppedConnectionIsResumedWithOneRangeRequest() throws {
        let dest = destination()
        let result = try fastDownloader().download(url: url("/drop"), to: dest)
        XCTAssertEqual(result, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 0, attempts: 2))
        try assertPayload(at: dest)
        let logged = try requests()
        XCTAssertEqual(logged.map(\.path), ["/drop", "/drop"])
        XCTAssertEqual(logged.map(\.range), [nil, "bytes=1000000-"])
        XCTAssertEqual(logged.filter { $0.range == "bytes=1000000-" }.count, 1)
    }

    func testExistingPartFileIsResumed() throws {
        let dest = destination()
        try writeFile(dest + ".part", Array(payload[0..<123_456]))
        var firstReport: (Int64, Int64?)?
        let result = try fastDownloader().download(url: url("/ok"), to: dest) { received, total in
            if firstReport == nil { firstReport = (received, total) }
        }
        XCTAssertEqual(result, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 123_456, attempts: 1))
        try assertPayload(at: dest)
        XCTAssertEqual(try requests(), [LoggedRequest(path: "/ok", range: "bytes=123456-", agent: "herd/0.1")])
        let first = try XCTUnwrap(firstReport)
        XCTAssertGreaterThan(first.0, 123_456, "progress counts the bytes already on disk")
        XCTAssertEqual(first.1, 3_000_000)
    }

    func testCompletePartFileIsFinishedBy416() throws {
        let dest = destination()
        try writeFile(dest + ".part", payload)
        let result = try fastDownloader().download(url: url("/ok"), to: dest)
        XCTAssertEqual(result, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 3_000_000, attempts: 1))
        try assertPayload(at: dest)
        XCTAssertEqual(try requests().map(\.range), ["bytes=3000000-"])
    }

    func testOverlongPartFileIsRestarted() throws {
        let dest = destination()
        try writeFile(dest + ".part", payload + [1, 2, 3])
        let result = try fastDownloader().download(url: url("/ok"), to: dest)
        XCTAssertEqual(result, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 3_000_003, attempts: 2))
        try assertPayload(at: dest)
        XCTAssertEqual(try requests().map(\.range), ["bytes=3000003-", nil])
    }

    func testServerIgnoringRangeRestartsFromZero() throws {
        let dest = destination()
        // Wrong bytes on purpose: they must be overwritten, not kept.
        try writeFile(dest + ".part", [UInt8](repeating: 0xFF, count: 123_456))
        let result = try fastDownloader().download(url: url("/norange"), to: dest)
        XCTAssertEqual(result, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 123_456, attempts: 1))
        try assertPayload(at: dest)
        XCTAssertEqual(try requests().map(\.range), ["bytes=123456-"])
    }

    func testFlakyServerSucceedsOnTheThirdAttempt() throws {
        let dest = destination()
        let result = try fastDownloader().download(url: url("/flaky"), to: dest)
        XCTAssertEqual(result, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 0, attempts: 3))
        try assertPayload(at: dest)
        // The 503 pages were not written to the .part file, so no retry asked for a range.
        XCTAssertEqual(try requests().map(\.range), [nil, nil, nil])
    }

    func testFlakyServerExhaustsTooFewAttempts() throws {
        let dest = destination()
        let error = try XCTUnwrap(fetchError { try fastDownloader(maxAttempts: 2).download(url: url("/flaky"), to: dest) })
        XCTAssertEqual(error.message, "HTTP 503 (gave up after 2 attempts)")
        XCTAssertFalse(exists(dest))
        XCTAssertFalse(exists(dest + ".part"))
        XCTAssertEqual(try requests().count, 2)
    }

    func testStalledTransferTimesOutAndResumes() throws {
        let dest = destination()
        let started = Date()
        let result = try fastDownloader(lowSpeedTimeout: 1).download(url: url("/stall"), to: dest)
        XCTAssertEqual(result, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 0, attempts: 2))
        try assertPayload(at: dest)
        XCTAssertEqual(try requests().map(\.range), [nil, "bytes=1-"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    // MARK: Failures

    func testMissingFailsAtOnceWithoutLeavingFiles() throws {
        let dest = destination()
        let error = try XCTUnwrap(fetchError { try fastDownloader().download(url: url("/missing"), to: dest) })
        XCTAssertEqual(error.message, "HTTP 404")
        XCTAssertTrue(error.description.contains("HTTP 404"))
        XCTAssertEqual(error.description, "http://127.0.0.1:\(port)/missing: HTTP 404")
        XCTAssertFalse(exists(dest))
        XCTAssertFalse(exists(dest + ".part"), "the error page must not be written")
        XCTAssertEqual(try requests().count, 1, "a 404 is not retried")
    }

    func testErrorsRedactTheURL() throws {
        let dest = destination()
        let secretURL = "http://alice:hunter2@127.0.0.1:\(port)/missing?token=s3cr3t&v=2"
        let error = try XCTUnwrap(fetchError { try fastDownloader().download(url: secretURL, to: dest) })
        XCTAssertEqual(error.description, "http://127.0.0.1:\(port)/missing?v=2: HTTP 404")
        XCTAssertFalse(error.url.contains("hunter2"))
        XCTAssertFalse(error.url.contains("s3cr3t"))
    }

    func testSHAMismatchFailsAndRemovesThePartFile() throws {
        let dest = destination()
        let wrong = String(repeating: "0", count: 64)
        let error = try XCTUnwrap(fetchError {
            try fastDownloader().download(url: url("/ok"), to: dest, expectedSHA256: wrong)
        })
        XCTAssertEqual(error.message, "sha256 mismatch: expected \(wrong), got \(payloadSHA)")
        XCTAssertFalse(exists(dest))
        XCTAssertFalse(exists(dest + ".part"))

        // A retry starts clean.
        let result = try fastDownloader().download(url: url("/ok"), to: dest, expectedSHA256: payloadSHA)
        XCTAssertEqual(result.resumedFrom, 0)
        XCTAssertEqual(try requests().map(\.range), [nil, nil])
    }

    func testConnectionRefusedFailsAfterMaxAttempts() throws {
        let closedPort = try unusedPort()
        let dest = destination()
        let error = try XCTUnwrap(fetchError {
            try fastDownloader(maxAttempts: 3).download(url: "http://127.0.0.1:\(closedPort)/ok", to: dest)
        })
        XCTAssertTrue(error.message.hasPrefix("Couldn't connect to server"), error.message)
        XCTAssertTrue(error.message.hasSuffix("(gave up after 3 attempts)"), error.message)
        XCTAssertFalse(exists(dest))
        XCTAssertFalse(exists(dest + ".part"))
    }

    func testUnsupportedSchemeFailsAtOnce() throws {
        let error = try XCTUnwrap(fetchError {
            try fastDownloader().download(url: "file:///etc/passwd", to: destination())
        })
        XCTAssertTrue(error.message.hasPrefix("Unsupported protocol"), error.message)
        XCTAssertFalse(error.message.contains("gave up"), error.message)
    }

    // MARK: Existing destination

    func testExistingDestinationIsReturnedWithoutARequest() throws {
        let dest = destination()
        _ = try fastDownloader().download(url: url("/ok"), to: dest)
        let again = try fastDownloader().download(url: url("/ok"), to: dest)
        XCTAssertEqual(again, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 3_000_000, attempts: 0))
        let checked = try fastDownloader().download(url: url("/ok"), to: dest, expectedSHA256: payloadSHA)
        XCTAssertEqual(checked.attempts, 0)
        XCTAssertEqual(try requests().count, 1)
    }

    func testExistingDestinationWithWrongContentIsReplaced() throws {
        let dest = destination()
        try writeFile(dest, [1, 2, 3])
        let result = try fastDownloader().download(url: url("/ok"), to: dest, expectedSHA256: payloadSHA)
        XCTAssertEqual(result, DownloadResult(path: dest, bytes: 3_000_000, sha256: payloadSHA, resumedFrom: 0, attempts: 1))
        try assertPayload(at: dest)
    }

    func testMissingParentDirectoryIsCreated() throws {
        let dest = directory + "/a/b/payload.bin"
        let result = try fastDownloader().download(url: url("/ok"), to: dest)
        XCTAssertEqual(result.bytes, 3_000_000)
        try assertPayload(at: dest)
    }

    // MARK: Redaction

    func testRedact() {
        XCTAssertEqual(Downloader.redact("https://u:p@h/x?key=abc&a=1"), "https://h/x?a=1")
        XCTAssertEqual(Downloader.redact("https://user@h/x"), "https://h/x")
        XCTAssertEqual(Downloader.redact("https://u:p%40ss@h:8443/x/y"), "https://h:8443/x/y")
        XCTAssertEqual(Downloader.redact("https://h/x?token=1"), "https://h/x")
        XCTAssertEqual(Downloader.redact("https://h/x?a=1&access_token=2&b=3"), "https://h/x?a=1&b=3")
        XCTAssertEqual(Downloader.redact("https://h/x?Signature=s&X-Amz-Credential=c&X-Amz-Date=d"),
                       "https://h/x?X-Amz-Date=d")
        XCTAssertEqual(Downloader.redact("https://h/x?sig=1&se=2&secret=3&password=4&API_KEY=5&api%5Fkey=6"),
                       "https://h/x?se=2")
        XCTAssertEqual(Downloader.redact("https://h/x?a=1&key=2#frag"), "https://h/x?a=1#frag")
        XCTAssertEqual(Downloader.redact("https://h/cb#access_token=t&state=s"), "https://h/cb#state=s")
        XCTAssertEqual(Downloader.redact("https://h/path@with-at?q=1"), "https://h/path@with-at?q=1")
        XCTAssertEqual(Downloader.redact("http://127.0.0.1:8080/ok"), "http://127.0.0.1:8080/ok")
        XCTAssertEqual(Downloader.redact(""), "")
    }

    func testFetchErrorDescriptionIsRedacted() {
        let error = FetchError(url: "https://u:p@h/x?key=abc&a=1", message: "HTTP 500")
        XCTAssertEqual(error.url, "https://h/x?a=1")
        XCTAssertEqual(error.description, "https://h/x?a=1: HTTP 500")
        XCTAssertEqual("\(error)", "https://h/x?a=1: HTTP 500")
    }
}

/// A loopback port nobody listens on: bound by the OS, then released.
private func unusedPort() throws -> Int {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
            bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}
