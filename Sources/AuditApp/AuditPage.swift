/// The rating page: one self-contained document (inline style and script, no network besides
/// the app's own API). Texts are set with textContent, never parsed as HTML.
enum AuditPage {
    static let contentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        + "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let html = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Herd rating</title>
    <style>
    :root { --fg: #1d1d1f; --muted: #6b6b70; --line: #d9d9de; --bg: #fafafa; --card: #fff;
            --a: #2e7d32; --b: #9e9d24; --c: #ef6c00; --d: #c62828; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
    header { position: sticky; top: 0; background: var(--card); border-bottom: 1px solid var(--line); padding: 10px 24px; z-index: 1; }
    .top { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
    h1 { font-size: 17px; margin: 0; }
    #progress-text { color: var(--muted); }
    #meter { height: 6px; background: var(--line); border-radius: 3px; margin-top: 8px; overflow: hidden; }
    #meter-fill { height: 100%; width: 0; background: var(--a); transition: width .15s; }
    main { max-width: 920px; margin: 0 auto; padding: 16px 24px 80px; }
    .where { display: flex; gap: 12px; align-items: baseline; color: var(--muted); margin-bottom: 8px; }
    .tag { background: #eef; color: #335; border-radius: 4px; padding: 1px 8px; font-size: 13px; }
    section.text { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 10px 0; }
    section.text h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 6px; }
    section.text div { white-space: pre-wrap; overflow-wrap: anywhere; }
    #input-box[hidden] { display: none; }
    .grades { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; margin: 16px 0 8px; }
    .grades button { font: inherit; text-align: left; padding: 8px 10px; border-radius: 8px; border: 2px solid var(--line);
                     background: var(--card); cursor: pointer; }
    .grades button b { font-size: 18px; margin-right: 6px; }
    .grades button small { display: block; color: var(--muted); }
    .grades button[data-grade="A"].chosen { border-color: var(--a); background: #e8f5e9; }
    .grades button[data-grade="B"].chosen { border-color: var(--b); background: #f9fbe7; }
    .grades button[data-grade="C"].chosen { border-color: var(--c); background: #fff3e0; }
    .grades button[data-grade="D"].chosen { border-color: var(--d); background: #ffebee; }
    textarea { width: 100%; min-height: 56px; font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; }
    .row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-top: 8px; }
    .row button { font: inherit; padding: 4px 12px; border-radius: 6px; border: 1px solid var(--line); background: var(--card); cursor: pointer; }
    #status { margin-left: auto; color: var(--muted); }
    #status.error { color: var(--d); font-weight: 600; }
    .keys { color: var(--muted); font-size: 13px; margin-top: 14px; }
    kbd { border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px; padding: 0 5px; font-size: 12px; background: var(--card); }
    #done[hidden] { display: none; }
    #done { background: #e8f5e9; border: 1px solid var(--a); border-radius: 8px; padding: 8px 12px; margin: 8px 0; }
    </style>
    </head>
    <body data-status="loading">
    <header>
      <div class="top"><h1>Herd rating</h1><span id="rater"></span><span id="progress-text">Loading…</span></div>
      <div id="meter"><div id="meter-fill"></div></div>
    </header>
    <main>
      <div id="done" hidden>Every pair of the sample has your rating. You can still go back and change any of them.</div>
      <div class="where"><span id="position"></span><span class="tag" id="subset"></span><span id="source"></span></div>
      <section class="text"><h2>Instruction</h2><div id="instruction"></div></section>
      <section class="text" id="input-box"><h2>Input</h2><div id="input"></div></section>
      <section class="text"><h2>Response</h2><div id="response"></div></section>
      <div class="grades" id="grades">
        <button data-grade="A"><b>A</b>valid and acceptable<small>key A or 1</small></button>
        <button data-grade="B"><b>B</b>minor errors<small>key B or 2</small></button>
        <button data-grade="C"><b>C</b>significant errors<small>key C or 3</small></button>
        <button data-grade="D"><b>D</b>invalid<small>key D or 4</small></button>
      </div>
      <textarea id="note" placeholder="Note (optional; N to write, Esc to leave). Saved with the grade."></textarea>
      <div class="row">
        <button id="prev">← Previous</button><button id="next">Next →</button>
        <button id="next-unrated">Next unrated</button><button id="undo">Undo</button>
        <span id="status"></span>
      </div>
      <p class="keys"><kbd>A</kbd>–<kbd>D</kbd> or <kbd>1</kbd>–<kbd>4</kbd> rate and move on ·
        <kbd>U</kbd> or <kbd>Ctrl</kbd>+<kbd>Z</kbd> undo · <kbd>←</kbd> <kbd>→</kbd> or <kbd>K</kbd> <kbd>J</kbd> move ·
        <kbd>Space</kbd> next unrated · <kbd>N</kbd> note · <kbd>Esc</kbd> leave the note.
        Each rating is saved in the store at once.</p>
    </main>
    <script>
    "use strict";
    const $ = id => document.getElementById(id);
    let state = null, pair = null, noteSaved = "";
    const undoStack = [];

    function setStatus(status, message, isError) {
      document.body.dataset.status = status;
      $("status").textContent = message || "";
      $("status").className = isError ? "error" : "";
    }

    async function api(method, path, body) {
      const options = { method, headers: {} };
      if (body !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
      const response = await fetch(path, options);
      const value = await response.json().catch(() => ({ error: "the app sent no JSON (" + response.status + ")" }));
      if (!response.ok) throw new Error(value.error || ("HTTP " + response.status));
      return value;
    }

    function showState(s) {
      state = s;
      $("rater").textContent = "Reviewer: " + s.rater;
      const counts = ["A", "B", "C", "D"].map(g => g + " " + s.counts[g]).join(" · ");
      $("progress-text").textContent = "Rated " + s.rated + " of " + s.total + " · " + counts;
      $("meter-fill").style.width = (s.total ? 100 * s.rated / s.total : 0) + "%";
      $("done").hidden = s.next_unrated !== null;
    }

    function showPair(p) {
      pair = p;
      $("position").textContent = "Pair " + (p.position + 1) + " of " + p.total;
      $("subset").textContent = p.subset;
      $("source").textContent = p.response_source === "seed" ? "response from the source dataset" : "response by " + p.response_source;
      $("instruction").textContent = p.instruction;
      $("input").textContent = p.input;
      $("input-box").hidden = p.input === "";
      $("response").textContent = p.response;
      noteSaved = p.rating ? p.rating.note : "";
      $("note").value = noteSaved;
      for (const b of document.querySelectorAll("#grades button")) b.classList.toggle("chosen", !!p.rating && p.rating.grade === b.dataset.grade);
      window.scrollTo(0, 0);
    }

    // Runs the reviewer's actions one after another, in the order they were made; the page is
    // "ready" when none is left.
    let chain = Promise.resolve(), pending = 0;
    function step(work) {
      pending++;
      setStatus("saving", "");
      chain = chain.then(async () => {
        let shown = "", failed = null;
        try { shown = await work(); } catch (error) { failed = error; }
        pending--;
        if (failed) setStatus("error", "Not saved: " + failed.message, true);
        else if (pending === 0) setStatus("ready", shown || "");
      });
      return chain;
    }

    async function go(position) {
      if (position < 0 || position >= state.total) return "";
      showPair(await api("GET", "/api/pairs/" + position));
      return "";
    }

    function rate(grade) {
      step(async () => {
        const at = pair.position, before = pair.rating;
        const result = await api("PUT", "/api/ratings/" + at, { grade, note: $("note").value });
        undoStack.push({ position: at, before });
        showState(result.state);
        if (result.state.next_unrated !== null) await go(result.state.next_unrated);
        else showPair(Object.assign({}, pair, { rating: result.rating }));
        return "Saved " + grade + " for pair " + (at + 1);
      });
    }

    function undo() {
      step(async () => {
        const last = undoStack.pop();
        if (!last) return "Nothing to undo";
        const result = last.before
          ? await api("PUT", "/api/ratings/" + last.position, last.before)
          : await api("DELETE", "/api/ratings/" + last.position);
        showState(result.state);
        await go(last.position);
        return "Undone: pair " + (last.position + 1) + (last.before ? " is " + last.before.grade + " again" : " is unrated again");
      });
    }

    // A note edited after the pair was rated is saved when the reviewer leaves the field.
    function saveNote() {
      const note = $("note").value;
      if (!pair || !pair.rating || note === noteSaved) return;
      step(async () => {
        const at = pair.position, before = pair.rating;
        const result = await api("PUT", "/api/ratings/" + at, { grade: before.grade, note });
        undoStack.push({ position: at, before });
        showState(result.state);
        pair.rating = result.rating;
        noteSaved = note;
        return "Note saved for pair " + (at + 1);
      });
    }

    function nextUnrated() {
      step(async () => {
        const s = await api("GET", "/api/state");
        showState(s);
        if (s.next_unrated === null) return "Every pair is rated";
        await go(s.next_unrated);
        return "";
      });
    }

    document.addEventListener("keydown", event => {
      const inNote = event.target === $("note");
      if (inNote) {
        if (event.key === "Escape") $("note").blur();
        return;
      }
      if (event.altKey || event.metaKey || event.repeat) return;
      if (event.ctrlKey) {
        if (event.key === "z" || event.key === "Z") { event.preventDefault(); undo(); }
        return;
      }
      const key = event.key.length === 1 ? event.key.toUpperCase() : event.key;
      const grade = { A: "A", B: "B", C: "C", D: "D", "1": "A", "2": "B", "3": "C", "4": "D" }[key];
      if (grade) { event.preventDefault(); rate(grade); return; }
      if (key === "U") { event.preventDefault(); undo(); return; }
      if (key === "ArrowRight" || key === "J") { event.preventDefault(); step(() => go(pair.position + 1)); return; }
      if (key === "ArrowLeft" || key === "K") { event.preventDefault(); step(() => go(pair.position - 1)); return; }
      if (key === " ") { event.preventDefault(); nextUnrated(); return; }
      if (key === "N") { event.preventDefault(); $("note").focus(); }
    });
    $("note").addEventListener("blur", saveNote);
    for (const b of document.querySelectorAll("#grades button")) b.addEventListener("click", () => rate(b.dataset.grade));
    $("prev").addEventListener("click", () => step(() => go(pair.position - 1)));
    $("next").addEventListener("click", () => step(() => go(pair.position + 1)));
    $("undo").addEventListener("click", undo);
    $("next-unrated").addEventListener("click", nextUnrated);

    step(async () => {
      const s = await api("GET", "/api/state");
      showState(s);
      await go(s.next_unrated === null ? 0 : s.next_unrated);
      return "";
    });
    </script>
    </body>
    </html>
    """
}
