import Foundation
import ReportPage
import XCTest

final class ReportPageTests: XCTestCase {
    private static let dataOpening = #"<script type="application/json" id="report-data">"#

    /// The embedded report's text, as the page holds it.
    static func embeddedData(_ page: String) throws -> String {
        let start = try XCTUnwrap(page.range(of: dataOpening), "no report-data script").upperBound
        let end = try XCTUnwrap(page.range(of: "</script>", range: start..<page.endIndex)).lowerBound
        return String(page[start..<end])
    }

    func testPageFetchesNothing() throws {
        let page = ReportPage.html(reportJSON: try ReportFixtures.json(ReportFixtures.full(points: 500)), title: "Audit")
        var markup = page
        let data = try Self.embeddedData(page)
        markup = markup.replacingOccurrences(of: data, with: "")
        XCTAssertTrue(data.contains("https://example.com/topic"), "a URL in the data stays data")
        // The only URL outside the data is the SVG namespace, which names and loads nothing.
        XCTAssertEqual(markup.components(separatedBy: "http://").count - 1,
                       markup.components(separatedBy: "http://www.w3.org/2000/svg").count - 1)
        for reference in ["https://", "src=", "href=", "url(", "@import", "//cdn", "<link", "<iframe", "fetch(", "XMLHttpRequest"] {
            XCTAssertFalse(markup.contains(reference), "page refers to \(reference)")
        }
        XCTAssertTrue(markup.contains(#"content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'""#),
                      "the Content-Security-Policy forbids every fetch")
    }

    func testEmbeddedReportRoundTrips() throws {
        let json = try ReportFixtures.json(ReportFixtures.full(points: 2000))
        let data = try Self.embeddedData(ReportPage.html(reportJSON: json, title: "Audit"))
        XCTAssertFalse(data.contains("<"))
        let embedded = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? NSDictionary
        let original = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary
        XCTAssertNotNil(embedded)
        XCTAssertEqual(embedded, original)
    }

    func testHostileStringsAreEscaped() throws {
        let hostileTitle = ReportFixtures.scriptBreakout + " \"q\" 'a' & café 🦙"
        let page = ReportPage.html(reportJSON: try ReportFixtures.json(ReportFixtures.full(points: 100)), title: hostileTitle)
        XCTAssertFalse(page.contains("<img"))
        // Only the page's own two script elements open and close.
        XCTAssertEqual(page.components(separatedBy: "<script").count - 1, 2)
        XCTAssertEqual(page.components(separatedBy: "</script>").count - 1, 2)
        let escapedTitle = "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &quot;q&quot; &#39;a&#39; &amp; café 🦙"
        XCTAssertTrue(page.contains("<title>\(escapedTitle)</title>"))
        XCTAssertTrue(page.contains("<h1>\(escapedTitle)</h1>"))

        let data = try Self.embeddedData(page)
        XCTAssertTrue(data.contains(#"\u003c/script>\u003cimg src=x onerror=alert(1)>"#))
        XCTAssertTrue(data.contains(#"\u003cimg src=x onerror=\"document.body.dataset.injected='yes'\">"#))
        XCTAssertTrue(data.contains(#"naïve \"quoted\" & 'single'"#))
        XCTAssertTrue(data.contains("emoji 🦙 日本語"))
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])
        let projection = try XCTUnwrap(report["projection"] as? [String: Any])
        XCTAssertEqual(projection["subsets"] as? [String], ReportFixtures.subsets)
    }

    func testScriptNeverParsesMarkup() {
        let page = ReportPage.html(reportJSON: "{}", title: "Audit")
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            XCTAssertFalse(page.contains(sink), "the script uses \(sink)")
        }
    }
}
