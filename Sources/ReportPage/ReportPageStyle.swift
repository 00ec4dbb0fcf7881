/// The page's inline style sheet and script (ReportPageScript.swift).
enum ReportPageAssets {
    /// Plain and legible on screen and paper: system fonts only (no web fonts to fetch),
    /// right-aligned tabular figures, and colours kept when printed.
    static let style = #"""
    :root { color-scheme: light; }
    body {
      margin: 0; background: #fff; color: #1a1a1a;
      font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
      -webkit-print-color-adjust: exact; print-color-adjust: exact;
    }
    main { max-width: 1100px; margin: 0 auto; padding: 24px; }
    h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
    h2 { font-size: 1.2rem; margin: 2rem 0 .75rem; padding-bottom: .2rem; border-bottom: 1px solid #ccc; }
    h3 { font-size: 1rem; margin: 1.2rem 0 .5rem; }
    p { margin: .4rem 0; }
    .missing { color: #666; font-style: italic; }
    .error { color: #b2182b; font-weight: 600; }
    .note { color: #555; font-size: .9rem; }
    .scroll { overflow-x: auto; }
    table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
    th, td { padding: .25rem .6rem; border-bottom: 1px solid #e2e2e2; text-align: left; vertical-align: top; }
    thead th { border-bottom: 2px solid #999; font-weight: 600; }
    tfoot td { border-top: 2px solid #999; font-weight: 600; }
    .number { text-align: right; white-space: nowrap; }
    .plot { border: 1px solid #ddd; }
    .plot canvas { display: block; width: 100%; }
    .legend { display: flex; flex-wrap: wrap; gap: .4rem .9rem; margin: .5rem 0; padding: 0; list-style: none; }
    .legend button { font: inherit; color: inherit; background: #fff; border: 1px solid #bbb; border-radius: 3px; padding: .1rem .5rem; cursor: pointer; }
    .legend button[aria-pressed="false"] { opacity: .45; text-decoration: line-through; }
    .swatch { display: inline-block; width: .8em; height: .8em; margin-right: .35em; vertical-align: -.05em; }
    .swatch.line { height: 0; border-top: 2px solid; vertical-align: .25em; width: 1.4em; }
    .swatch.dashed { border-top-style: dashed; }
    .multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: .8rem 1.2rem; }
    figure { margin: 0; }
    figcaption { font-size: .9rem; overflow-wrap: anywhere; }
    svg.chart { display: block; width: 100%; height: auto; max-width: 760px; }
    svg.bar { display: block; width: 100%; min-width: 160px; height: 16px; }
    svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #333; }
    svg .axis { stroke: #888; stroke-width: 1; }
    svg .grid { stroke: #e6e6e6; stroke-width: 1; }
    .lists { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 0 2rem; }
    .lists ol { margin: .3rem 0; padding-left: 1.6rem; }
    .ratings td:nth-child(2), .ratings td:nth-child(3) { width: 35%; }
    .shares { font-size: .8rem; color: #555; font-variant-numeric: tabular-nums; }
    @media print {
      main { max-width: none; padding: 0; }
      section { break-inside: avoid; }
      .legend button { border: none; }
    }

    """#
}
