import Foundation

/// A one-line progress display on standard error (done/total, rate, ETA). It draws only when
/// standard error is a terminal, at most ten times a second, and stays silent otherwise.
public final class ProgressMeter {
    private let label: String
    private let unit: String
    private let total: Double?
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drew = false

    /// `unit` names what `done` counts ("MB", "rows"); `total` is nil when unknown.
    public init(label: String, unit: String, total: Double?, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label; self.unit = unit; self.total = total; self.enabled = enabled
    }

    /// `note` is shown after the figures (a spend, say).
    public func update(_ done: Double, note: String? = nil) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 1e-9)
        let rate = done / elapsed
        var line = Self.context + "\(label): \(Self.format(done))"
        if let total { line += "/\(Self.format(total))" }
        line += " \(unit), \(Self.format(rate)) \(unit)/s"
        if let total, rate > 0, done < total { line += ", ETA \(Self.duration((total - done) / rate))" }
        if let note { line += ", \(note)" }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        drew = true
    }

    /// Shown before every meter's label: `herd build` puts its stage there ("[5/11 responses] "),
    /// so one line tells the whole build's progress.
    public static var context: String {
        get { contextLock.lock(); defer { contextLock.unlock() }; return contextValue }
        set { contextLock.lock(); contextValue = newValue; contextLock.unlock() }
    }
    nonisolated(unsafe) private static var contextValue = ""
    private static let contextLock = NSLock()

    /// Clears the line.
    public func finish() {
        guard enabled, drew else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    static func format(_ x: Double) -> String {
        x >= 100 ? String(Int(x.rounded())) : String(format: "%.1f", x)
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(t % 3600 / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }
}
