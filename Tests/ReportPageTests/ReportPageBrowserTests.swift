import Foundation
import ReportPage
import XCTest

/// The page as a browser shows it: headless Chromium's DOM after loading, and screenshots decoded
/// and measured.
final class ReportPageBrowserTests: XCTestCase {
    private static let window = (1280, 2400)
    /// The page's subset palette (Okabe & Ito), in the order subsets get it.
    private static let palette: [UInt32] = [0x0072B2, 0xE69F00, 0x009E73, 0xD55E00]
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("report-page-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func testFullReportDrawsEverySection() throws {
        let (chromium, version) = try HeadlessChromium.find(scratch: scratch)
        let points = 200_000
        let html = ReportPage.html(reportJSON: try ReportFixtures.json(ReportFixtures.full(points: points)), title: "LaMini audit")
        let page = try write(html, to: "full.html")

        let dom = try chromium.dumpDOM(of: page, windowSize: Self.window)
        XCTAssertEqual(Self.attribute("data-status", in: dom.stdout), "ok")
        XCTAssertFalse(Self.withoutScripts(dom.stdout).contains("Not computed yet"))
        XCTAssertEqual(dom.stdout.components(separatedBy: "<section").count - 1, 9)
        // Hostile names arrive as text: escaped in the serialised DOM, never as elements.
        XCTAssertTrue(dom.stdout.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"))
        XCTAssertFalse(dom.stdout.contains("<img"))
        XCTAssertFalse(dom.stdout.contains("data-injected"))
        // Thousands separators; the ledger's total cost (1.23 + 1,234.50).
        XCTAssertTrue(dom.stdout.contains("2,000,000"))
        XCTAssertTrue(dom.stdout.contains("$1,235.73"))
        XCTAssertTrue(dom.stderr.contains("report: scatter of \(points) points drawn in"), "the draw time is logged to the console")
        let drawMs = try XCTUnwrap(Self.attribute("data-draw-ms", in: dom.stdout).flatMap(Double.init))
        XCTAssertLessThan(drawMs, 500)
        let plot = try XCTUnwrap(Self.attribute("data-page-rect", in: dom.stdout)).split(separator: ",").compactMap { Int($0) }
        XCTAssertEqual(plot.count, 4)

        let image = try screenshot(chromium, page, "full.png")
        XCTAssertGreaterThan(Self.fractionNotBackground(image), 0.05)
        let drawn = Self.paletteCounts(image, in: plot)
        for (subset, count) in drawn.enumerated() {
            XCTAssertGreaterThan(count, 2000, "subset \(subset)'s colour in the scatter")
        }

        // Clicking a legend entry hides that subset and only that one.
        let clicking = html.replacingOccurrences(of: "</body>", with: #"<script>document.querySelector(".legend button").click()</script></body>"#)
        let hidden = Self.paletteCounts(try screenshot(chromium, try write(clicking, to: "hidden.html"), "hidden.png"), in: plot)
        XCTAssertEqual(hidden[0], 0)
        XCTAssertEqual(hidden.dropFirst().filter { $0 > 2000 }.count, 3)

        // On a screen of two device pixels per CSS pixel, the canvas holds twice its CSS size, and
        // it is drawn again at its new size when the window changes.
        let resizing = html.replacingOccurrences(of: "</body>", with: """
            <script>
            const canvas = document.querySelector("canvas"), before = [canvas.width, canvas.getBoundingClientRect().width];
            document.querySelector("main").style.maxWidth = "640px";
            window.dispatchEvent(new Event("resize"));
            document.body.dataset.canvasSizes = before.concat([canvas.width, canvas.getBoundingClientRect().width]).join(",");
            </script></body>
            """)
        let sharp = try chromium.dumpDOM(of: try write(resizing, to: "resizing.html"), windowSize: Self.window, scale: 2)
        XCTAssertEqual(Self.attribute("data-status", in: sharp.stdout), "ok")
        let sizes = try XCTUnwrap(Self.attribute("data-canvas-sizes", in: sharp.stdout)).split(separator: ",").compactMap { Double($0) }
        XCTAssertEqual(sizes.count, 4)
        XCTAssertEqual(sizes[0], 2 * sizes[1], accuracy: 1)
        XCTAssertEqual(sizes[2], 2 * sizes[3], accuracy: 1)
        XCTAssertLessThan(sizes[3], sizes[1])

        let emptyPage = try write(ReportPage.html(reportJSON: "{}", title: "Empty"), to: "startup.html")
        let startup = try chromium.dumpDOM(of: emptyPage, windowSize: Self.window).seconds
        print(String(format: "%@: %d-point page (%.1f MB) loaded and dumped in %.2f s (an empty page: %.2f s); scatter drawn in %.1f ms",
                     version, points, Double(html.utf8.count) / 1e6, dom.seconds, startup, drawMs))
    }

    func testMissingOrEmptySectionsSayNotComputed() throws {
        let (chromium, _) = try HeadlessChromium.find(scratch: scratch)
        let cases = [("missing", "{}", 9), ("empty", try ReportFixtures.json(ReportFixtures.emptySections), 10)]
        for (name, json, notComputed) in cases {
            let page = try write(ReportPage.html(reportJSON: json, title: "Nothing yet"), to: "\(name).html")
            let dom = try chromium.dumpDOM(of: page, windowSize: Self.window)
            XCTAssertEqual(Self.attribute("data-status", in: dom.stdout), "ok", name)
            XCTAssertEqual(Self.withoutScripts(dom.stdout).components(separatedBy: "Not computed yet.").count - 1, notComputed, name)
            XCTAssertNil(Self.attribute("data-draw-ms", in: dom.stdout), name)
        }
        let image = try screenshot(chromium, try write(ReportPage.html(reportJSON: "{}", title: "Nothing yet"), to: "blank.html"), "blank.png")
        XCTAssertGreaterThan(Self.fractionNotBackground(image), 0.002, "headings and notes are drawn")
    }

    func testUnreadableReportSetsErrorStatus() throws {
        let (chromium, _) = try HeadlessChromium.find(scratch: scratch)
        let cases = [("unparsable", #"{"table1": "#), ("malformed", #"{"projection": {"x": [1], "y": [2], "subsets": "alpaca"}}"#)]
        for (name, json) in cases {
            let dom = try chromium.dumpDOM(of: try write(ReportPage.html(reportJSON: json, title: "Broken"), to: "\(name).html"),
                                           windowSize: Self.window)
            let status = try XCTUnwrap(Self.attribute("data-status", in: dom.stdout), name)
            XCTAssertTrue(status.hasPrefix("error: "), "\(name): \(status)")
        }
    }

    private func write(_ html: String, to name: String) throws -> URL {
        let url = scratch.appendingPathComponent(name)
        try Data(html.utf8).write(to: url)
        return url
    }

    private func screenshot(_ chromium: HeadlessChromium, _ page: URL, _ name: String) throws -> PNGImage {
        let png = scratch.appendingPathComponent(name)
        _ = try chromium.screenshot(of: page, windowSize: Self.window, to: png)
        let image = try PNGImage(data: Data(contentsOf: png))
        XCTAssertEqual(image.width, Self.window.0)
        XCTAssertEqual(image.height, Self.window.1)
        return image
    }

    /// The value of the first `name="…"` attribute in serialised HTML.
    private static func attribute(_ name: String, in dom: String) -> String? {
        guard let start = dom.range(of: " \(name)=\"")?.upperBound,
              let end = dom.range(of: "\"", range: start..<dom.endIndex)?.lowerBound else { return nil }
        return String(dom[start..<end])
    }

    /// Serialised HTML without its script elements' text (the page's code, the embedded data).
    private static func withoutScripts(_ dom: String) -> String {
        var rest = Substring(dom), kept = ""
        while let open = rest.range(of: "<script"), let close = rest.range(of: "</script>", range: open.upperBound..<rest.endIndex) {
            kept += rest[..<open.lowerBound]
            rest = rest[close.upperBound...]
        }
        return kept + rest
    }

    /// The share of pixels unlike the top-left one, the page's white background.
    private static func fractionNotBackground(_ image: PNGImage) -> Double {
        let background = image.rgb(x: 0, y: 0)
        XCTAssertEqual(background, 0xFFFFFF)
        var differing = 0
        for y in 0..<image.height {
            for x in 0..<image.width where image.rgb(x: x, y: y) != background { differing += 1 }
        }
        return Double(differing) / Double(image.width * image.height)
    }

    /// Per palette colour, its exact pixels inside `rect` (left, top, width, height in CSS pixels).
    private static func paletteCounts(_ image: PNGImage, in rect: [Int]) -> [Int] {
        var counts = [Int](repeating: 0, count: palette.count)
        for y in max(0, rect[1])..<min(image.height, rect[1] + rect[3]) {
            for x in max(0, rect[0])..<min(image.width, rect[0] + rect[2]) {
                if let index = palette.firstIndex(of: image.rgb(x: x, y: y)) { counts[index] += 1 }
            }
        }
        return counts
    }
}
