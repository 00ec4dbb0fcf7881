import Foundation

/// The audit report as one self-contained web page: `report.json` embedded as data and drawn by
/// inline script and style. Nothing is fetched; the page's Content-Security-Policy forbids it.
public enum ReportPage {
    /// The page showing `reportJSON` (report.json's text, embedded as it is) under `title`.
    /// Sections the report lacks or leaves empty read "Not computed yet." Once drawn, the page
    /// sets `body[data-status]` to "ok" (or "error: …" on any failure, then or later) and
    /// `body[data-draw-ms]` to the milliseconds the embedding scatter took to draw.
    public static func html(reportJSON: String, title: String) -> String {
        let heading = htmlEscaped(title)
        return """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
        <title>\(heading)</title>
        <style>
        \(ReportPageAssets.style)</style>
        </head>
        <body data-status="loading">
        <main id="report">
        <h1>\(heading)</h1>
        <noscript><p>This report is drawn by JavaScript; enable it to see the report.</p></noscript>
        </main>
        <script type="application/json" id="report-data">\(scriptSafeJSON(reportJSON))</script>
        <script>
        \(ReportPageAssets.script)</script>
        </body>
        </html>

        """
    }

    /// JSON with every `<` written as its escape `\u003c`, so no "</script" or "<!--" in the data
    /// can end or disturb the script element holding it. `<` can only occur inside JSON strings,
    /// where the escape decodes to the same text.
    static func scriptSafeJSON(_ json: String) -> String {
        json.replacingOccurrences(of: "<", with: "\\u003c")
    }

    /// Text made safe for HTML element content and quoted attribute values.
    static func htmlEscaped(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}
