extension ReportPageAssets {
    /// Draws every section from the embedded report. Strings from the report only ever become
    /// text nodes or attribute values (never markup), so subset names, topics and models can hold
    /// anything.
    static let script = #"""
    "use strict";
    // Any failure, while drawing or in a later event, is left where people and tests can read it.
    window.onerror = function (message) { document.body.dataset.status = "error: " + message; };
    window.addEventListener("unhandledrejection", function (event) {
      const reason = event.reason;
      document.body.dataset.status = "error: " + (reason && reason.message ? reason.message : String(reason));
    });

    // Okabe & Ito's colour-blind-safe palette, handed to subsets in order.
    const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];
    // Grades A (best) to D on a diverging blue–red scale that stays distinct for colour-blind readers.
    const GRADES = [["A", "#2166AC"], ["B", "#92C5DE"], ["C", "#F4A582"], ["D", "#B2182B"]];
    const KEPT_COLOUR = "#0072B2", DROPPED_COLOUR = "#D55E00";
    const SVG_NS = "http://www.w3.org/2000/svg";
    const integers = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

    function isNumber(value) { return typeof value === "number" && Number.isFinite(value); }
    function isMissing(value) {
      if (value == null || value === "") return true;
      if (Array.isArray(value)) return value.length === 0;
      return typeof value === "object" && Object.keys(value).length === 0;
    }
    function list(value) { return Array.isArray(value) ? value : []; }
    function text(value) { return value == null ? "—" : String(value); }
    function formatCount(value) { return isNumber(value) ? integers.format(value) : "—"; }
    function formatDecimal(value, minDigits, maxDigits) {
      return isNumber(value)
        ? value.toLocaleString("en-US", { minimumFractionDigits: minDigits, maximumFractionDigits: maxDigits })
        : "—";
    }
    function formatPercent(fraction) { return isNumber(fraction) ? formatDecimal(fraction * 100, 1, 1) + "%" : "—"; }
    function formatDollars(value) { return isNumber(value) ? "$" + formatDecimal(value, 2, 2) : "—"; }
    function sum(values) { return values.reduce((total, value) => total + (isNumber(value) ? value : 0), 0); }

    function html(tag, attributes, children) {
      const node = document.createElement(tag);
      for (const name in attributes) node.setAttribute(name, attributes[name]);
      node.append(...(children || []));
      return node;
    }
    function svg(tag, attributes, children) {
      const node = document.createElementNS(SVG_NS, tag);
      for (const name in attributes) node.setAttribute(name, attributes[name]);
      node.append(...(children || []));
      return node;
    }
    function notComputed(section) { section.append(html("p", { class: "missing" }, ["Not computed yet."])); }
    function swatch(colour, kind) {
      const mark = html("span", { class: "swatch" + (kind ? " line " + kind : ""), "aria-hidden": "true" });
      if (kind) mark.style.borderTopColor = colour; else mark.style.backgroundColor = colour;
      return mark;
    }

    // Subsets in one order for every chart, each keeping its colour: the projection's order first,
    // then order of appearance. Returns name → rank.
    function subsetOrder(report) {
      const order = new Map();
      const add = name => { if (name != null && !order.has(String(name))) order.set(String(name), order.size); };
      const projection = report.projection || {}, lengths = report.lengths || {};
      list(projection.subsets).forEach(add);
      list((report.table1 || {}).subsets).forEach(row => add(row.subset));
      for (const field of ["instruction", "response"]) Object.keys((lengths[field] || {}).subsets || {}).forEach(add);
      list((report.dedup || {}).subsets).forEach(row => add(row.subset));
      list((report.ratings || {}).subsets).forEach(row => add(row.subset));
      return order;
    }

    // About `count` round values, from one at or below `low` to one at or above `high`.
    function ticks(low, high, count) {
      if (!(high > low)) return [low];
      const rough = (high - low) / count, magnitude = Math.pow(10, Math.floor(Math.log10(rough)));
      const step = [1, 2, 5, 10].map(factor => factor * magnitude).find(candidate => candidate >= rough);
      const values = [];
      for (let value = Math.floor(low / step) * step; value < high + step * (1 - 1e-9); value += step) values.push(+value.toPrecision(12));
      return values;
    }

    // columns: [{ heading, cell(row) → string, numeric }]
    function table(columns, bodyRows, footRows, className) {
      const line = (tag, values) => html("tr", {}, columns.map((column, i) => html(tag, column.numeric ? { class: "number" } : {}, [values[i]])));
      const cells = row => columns.map(column => column.cell(row));
      const parts = [
        html("thead", {}, [line("th", columns.map(column => column.heading))]),
        html("tbody", {}, bodyRows.map(row => line("td", cells(row)))),
      ];
      if (footRows.length) parts.push(html("tfoot", {}, footRows.map(row => line("td", cells(row)))));
      return html("div", { class: "scroll" }, [html("table", className ? { class: className } : {}, parts)]);
    }
    function column(heading, cell, numeric) { return { heading, cell, numeric }; }

    // Vertical bars over consecutive bins. markers: [[fraction of the x axis, label]] as dashed lines.
    function barChart(values, tooltips, colourOf, xLabels, markers, width, height, label) {
      const left = 52, right = 10, top = 14, bottom = 20;
      const plotWidth = width - left - right, plotHeight = height - top - bottom, base = top + plotHeight;
      const max = values.reduce((most, value) => Math.max(most, isNumber(value) ? value : 0), 0);
      const step = plotWidth / Math.max(1, values.length);
      const parts = [
        svg("line", { class: "grid", x1: left, y1: top, x2: left + plotWidth, y2: top }),
        svg("text", { x: left - 4, y: top + 4, "text-anchor": "end" }, [formatCount(max)]),
        svg("text", { x: left - 4, y: base, "text-anchor": "end" }, ["0"]),
      ];
      values.forEach((value, i) => {
        const barHeight = max > 0 && isNumber(value) ? value / max * plotHeight : 0;
        parts.push(svg("rect", {
          x: left + i * step + 0.5, y: base - barHeight, width: Math.max(0.5, step - 1), height: barHeight, fill: colourOf(i),
        }, [svg("title", {}, [tooltips[i]])]));
      });
      parts.push(svg("line", { class: "axis", x1: left, y1: base, x2: left + plotWidth, y2: base }));
      for (const [fraction, tick] of xLabels) {
        const anchor = fraction === 0 ? "start" : fraction === 1 ? "end" : "middle";
        parts.push(svg("text", { x: left + fraction * plotWidth, y: height - 5, "text-anchor": anchor }, [tick]));
      }
      for (const [fraction, marker] of markers) {
        const x = left + fraction * plotWidth;
        parts.push(svg("line", { class: "axis", x1: x, y1: top - 4, x2: x, y2: base, "stroke-dasharray": "4 3" }));
        parts.push(svg("text", { x: x + 3, y: top + 4 }, [marker]));
      }
      return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label }, parts);
    }

    function renderSummary(section, report) {
      const facts = [["Report", report.title], ["Store", report.store], ["Generated by", report.generated_by]]
        .filter(([, value]) => !isMissing(value));
      if (!facts.length) return notComputed(section);
      section.append(html("p", {}, facts.flatMap(([label, value], i) => [i ? " · " : "", html("strong", {}, [label + ": "]), String(value)])));
    }

    function renderTable1(section, table1) {
      const rows = list((table1 || {}).subsets), total = (table1 || {}).total;
      if (!rows.length && isMissing(total)) return notComputed(section);
      const mattr = value => formatDecimal(value, 1, 3);
      section.append(table([
        column("Subset", row => text(row.subset)),
        column("Pairs", row => formatCount(row.count), true),
        column("Unique", row => formatCount(row.unique), true),
        column("Instruction words", row => formatCount(row.instruction_words), true),
        column("Avg", row => formatDecimal(row.instruction_words_avg, 1, 1), true),
        column("Response words", row => formatCount(row.response_words), true),
        column("Avg", row => formatDecimal(row.response_words_avg, 1, 1), true),
        column("MATTR instruction", row => mattr(row.mattr_instruction), true),
        column("MATTR response", row => mattr(row.mattr_response), true),
      ], rows, isMissing(total) ? [] : [total]));
    }

    function renderLedger(section, ledger) {
      const rows = list(ledger);
      if (!rows.length) return notComputed(section);
      const total = { stage: "Total", model: "" };
      for (const key of ["requests", "answered", "failed", "prompt_tokens", "completion_tokens", "cost_usd"]) {
        total[key] = sum(rows.map(row => row[key]));
      }
      section.append(table([
        column("Stage", row => text(row.stage)),
        column("Model", row => text(row.model)),
        column("Requests", row => formatCount(row.requests), true),
        column("Answered", row => formatCount(row.answered), true),
        column("Failed", row => formatCount(row.failed), true),
        column("Prompt tokens", row => formatCount(row.prompt_tokens), true),
        column("Completion tokens", row => formatCount(row.completion_tokens), true),
        column("Cost", row => formatDollars(row.cost_usd), true),
      ], rows, [total]));
    }

    function renderProjection(section, projection, colourOf) {
      const xs = list((projection || {}).x), ys = list((projection || {}).y), groups = list(projection && projection.subset_index);
      const count = Math.min(xs.length, ys.length);
      if (!count) return notComputed(section);
      const names = isMissing(projection.subsets) ? ["all"] : projection.subsets.map(String);
      const facts = [
        formatCount(count) + " " + (projection.field ? String(projection.field) + "s" : "points"),
        projection.model ? "embedded with " + projection.model : "",
        isNumber(projection.kl_divergence) ? "t-SNE KL divergence " + formatDecimal(projection.kl_divergence, 2, 3) : "",
      ].filter(Boolean);
      section.append(html("p", {}, [facts.join(" · ")]));

      // One colour per subset as the canvas's RGBA bytes read as a 32-bit word, in this machine's byte order.
      const pixelColours = Uint32Array.from(names, name => {
        const hex = colourOf(name), bytes = new Uint8ClampedArray(4);
        bytes.set([parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16), 255]);
        return new Uint32Array(bytes.buffer)[0];
      });
      // Points as typed arrays, which the drawing loop reads fastest; NaN marks a point without
      // finite coordinates.
      const subsetOf = new Uint16Array(count), pointX = new Float32Array(count), pointY = new Float32Array(count);
      const sizes = new Array(names.length).fill(0);
      let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
      for (let i = 0; i < count; i++) {
        const group = groups[i] >= 0 && groups[i] < names.length ? groups[i] : 0;
        subsetOf[i] = group;
        sizes[group]++;
        const x = xs[i], y = ys[i];
        if (Number.isFinite(x) && Number.isFinite(y)) {
          pointX[i] = x; pointY[i] = y;
          if (x < minX) minX = x; if (x > maxX) maxX = x;
          if (y < minY) minY = y; if (y > maxY) maxY = y;
        } else {
          pointX[i] = NaN;
        }
      }
      const hidden = new Uint8Array(names.length);

      const legend = html("ul", { class: "legend" }, names.map((name, group) => {
        const button = html("button", { type: "button", "aria-pressed": "true", title: "Show or hide this subset" },
          [swatch(colourOf(name)), name + " (" + formatCount(sizes[group]) + ")"]);
        button.addEventListener("click", () => {
          hidden[group] ^= 1;
          button.setAttribute("aria-pressed", String(!hidden[group]));
          draw();
        });
        return html("li", {}, [button]);
      }));
      const canvas = html("canvas", { role: "img", "aria-label": "t-SNE map of the embeddings, coloured by subset" });
      const frame = html("div", { class: "plot" }, [canvas]);
      section.append(legend, frame);

      // Points are written straight into an ImageData buffer (one 32-bit store per pixel): far
      // faster than a canvas path per point at hundreds of thousands of points.
      let drawn = null;
      function draw() {
        const ratio = window.devicePixelRatio || 1, cssWidth = frame.clientWidth;
        const started = performance.now();
        const cssHeight = Math.round(Math.min(cssWidth * 0.62, 720));
        const width = Math.max(1, Math.round(cssWidth * ratio)), height = Math.max(1, Math.round(cssHeight * ratio));
        canvas.style.height = cssHeight + "px";
        canvas.width = width;
        canvas.height = height;
        drawn = { cssWidth, ratio };
        const context = canvas.getContext("2d");
        const image = context.createImageData(width, height), pixels = new Uint32Array(image.data.buffer);
        pixels.fill(0xFFFFFFFF);
        const size = Math.max(1, Math.round(ratio * (count > 20000 ? 1.5 : 3))), margin = size + Math.round(6 * ratio);
        // One scale for both axes: t-SNE distances mean the same in every direction.
        const spanX = maxX - minX || 1, spanY = maxY - minY || 1;
        const scale = Math.min((width - 2 * margin - size) / spanX, (height - 2 * margin - size) / spanY);
        const offsetX = (width - size - spanX * scale) / 2, offsetY = (height - size - spanY * scale) / 2;
        for (let i = 0; i < count; i++) {
          const group = subsetOf[i], x = pointX[i];
          if (hidden[group] || x !== x) continue;
          const colour = pixelColours[group];
          let at = ((offsetY + (maxY - pointY[i]) * scale) | 0) * width + ((offsetX + (x - minX) * scale) | 0);
          for (let row = 0; row < size; row++, at += width) {
            for (let column = 0; column < size; column++) pixels[at + column] = colour;
          }
        }
        context.putImageData(image, 0, 0);
        const elapsed = performance.now() - started;
        document.body.dataset.drawMs = elapsed.toFixed(1);
        const box = canvas.getBoundingClientRect();
        // Where the map lies on the page, in CSS pixels, for checking a screenshot of it.
        canvas.dataset.pageRect = [box.left + window.scrollX, box.top + window.scrollY, box.width, box.height].map(Math.round).join(",");
        console.log(`report: scatter of ${count} points drawn in ${elapsed.toFixed(1)} ms (${width}×${height} px)`);
      }
      draw();
      window.addEventListener("resize", () => {
        if (frame.clientWidth !== drawn.cssWidth || (window.devicePixelRatio || 1) !== drawn.ratio) draw();
      });
    }

    function renderLengths(section, lengths, colourOf, order) {
      if (isMissing(lengths)) return notComputed(section);
      for (const field of ["instruction", "response"]) {
        section.append(html("h3", {}, [field === "instruction" ? "Instruction length (words)" : "Response length (words)"]));
        const histogram = lengths[field] || {}, edges = list(histogram.edges);
        if (isMissing(histogram.subsets) || !edges.length) { notComputed(section); continue; }
        // Bin i is [edges[i], edges[i+1]); a bin past the last edge holds everything longer.
        const binLabel = i => i + 1 < edges.length ? edges[i] + "–" + edges[i + 1] : "≥ " + edges[i];
        const figures = Object.entries(histogram.subsets).sort(([a], [b]) => order.get(a) - order.get(b)).map(([name, counts]) => {
          const bins = list(counts), colour = colourOf(name);
          const end = bins.length < edges.length ? String(edges[bins.length]) : "≥ " + edges[edges.length - 1];
          const chart = barChart(bins, bins.map((value, i) => binLabel(i) + " words: " + formatCount(value)), () => colour,
            [[0, String(edges[0])], [1, end]], [], 260, 110, field + " lengths of " + name);
          return html("figure", {}, [html("figcaption", {}, [swatch(colour), name + " (" + formatCount(sum(bins)) + ")"]), chart]);
        });
        section.append(html("div", { class: "multiples" }, figures));
      }
    }

    function renderDedup(section, dedup) {
      if (isMissing(dedup)) return notComputed(section);
      const kept = isNumber(dedup.kept) ? dedup.kept : 0, dropped = isNumber(dedup.dropped) ? dedup.dropped : 0;
      const threshold = isNumber(dedup.threshold) ? dedup.threshold : null, floor = isNumber(dedup.report_floor) ? dedup.report_floor : null;
      section.append(html("p", {}, [
        "ROUGE-L F1 threshold " + (threshold === null ? "—" : String(threshold)) + ": kept " + formatCount(kept) +
        ", dropped " + formatCount(dropped) + (kept + dropped ? " (" + formatPercent(dropped / (kept + dropped)) + ")" : "") +
        " of " + formatCount(kept + dropped) + " instructions.",
      ]));
      const bins = list(dedup.histogram);
      if (bins.length) {
        section.append(html("h3", {}, ["Best-match ROUGE-L F1"]));
        const lowEdge = i => i / bins.length;
        const markers = [];
        if (threshold !== null) markers.push([threshold, "threshold"]);
        if (floor !== null && floor !== threshold) markers.push([floor, "report floor"]);
        section.append(barChart(bins,
          bins.map((value, i) => lowEdge(i).toFixed(1) + "–" + lowEdge(i + 1).toFixed(1) + ": " + formatCount(value)),
          i => threshold !== null && lowEdge(i) >= threshold - 1e-9 ? DROPPED_COLOUR : KEPT_COLOUR,
          bins.map((_, i) => [i / bins.length, lowEdge(i).toFixed(1)]).concat([[1, "1.0"]]), markers, 720, 200,
          "Histogram of best-match ROUGE-L F1"));
        section.append(html("p", { class: "note" }, [
          swatch(KEPT_COLOUR), "below the threshold ", swatch(DROPPED_COLOUR), "at or above it",
          floor === null ? "" : ". Best matches are exact from the report floor (" + floor + ") up; below it none is recorded.",
        ]));
      }
      const subsets = list(dedup.subsets);
      if (subsets.length) {
        section.append(table([
          column("Subset", row => text(row.subset)),
          column("Kept", row => formatCount(row.kept), true),
          column("Dropped", row => formatCount(row.dropped), true),
          column("Dropped %", row => {
            const all = sum([row.kept, row.dropped]);
            return all ? formatPercent(sum([row.dropped]) / all) : "—";
          }, true),
        ], subsets, []));
      }
    }

    function renderTopics(section, topics) {
      if (isMissing(topics)) return notComputed(section);
      const used = topics.used, total = topics.total;
      section.append(html("p", {}, [
        "Used " + formatCount(used) + " of " + formatCount(total) + " topics" +
        (isNumber(used) && isNumber(total) && total > 0 ? " (" + formatPercent(used / total) + ")." : "."),
      ]));
      const topicList = (heading, rows) => html("div", {}, [
        html("h3", {}, [heading]),
        rows.length
          ? html("ol", {}, rows.map(row => html("li", {}, [text(row.topic) + " — " + formatCount(row.uses) + (row.uses === 1 ? " use" : " uses")])))
          : html("p", { class: "missing" }, ["None listed."]),
      ]);
      section.append(html("div", { class: "lists" }, [
        topicList("Most used", list(topics.most_used)), topicList("Least used", list(topics.least_used)),
      ]));
    }

    function renderRatings(section, ratings) {
      const rows = list((ratings || {}).subsets);
      if (!rows.length) return notComputed(section);
      section.append(html("p", { class: "legend" }, GRADES.flatMap(([grade, colour]) => [html("span", {}, [swatch(colour), grade])])));
      // One stacked bar: each grade's share of the rated responses.
      const gradeBar = (counts, rater, subset) => {
        counts = counts || {};
        const total = sum(GRADES.map(([grade]) => counts[grade]));
        if (!total) return html("span", { class: "missing" }, ["Not rated."]);
        let offset = 0;
        const parts = GRADES.map(([grade, colour]) => {
          const share = (isNumber(counts[grade]) ? counts[grade] : 0) / total;
          const rect = svg("rect", { x: offset * 100, y: 0, width: share * 100, height: 16, fill: colour },
            [svg("title", {}, [grade + ": " + formatCount(counts[grade]) + " (" + formatPercent(share) + ")"])]);
          offset += share;
          return rect;
        });
        const bar = svg("svg", { class: "bar", viewBox: "0 0 100 16", preserveAspectRatio: "none", role: "img",
          "aria-label": rater + " grades of " + subset }, parts);
        const shares = GRADES.map(([grade]) => grade + " " + formatPercent((isNumber(counts[grade]) ? counts[grade] : 0) / total)).join(" · ");
        return html("div", {}, [bar, html("div", { class: "shares" }, [shares + " · n = " + formatCount(total)])]);
      };
      section.append(table([
        column("Subset", row => text(row.subset)),
        column("Human", row => gradeBar(row.human, "human", text(row.subset))),
        column("Judge", row => gradeBar(row.judge, "judge", text(row.subset))),
        column("Agreement", row => isNumber(row.agreement)
          ? formatPercent(row.agreement) + (isNumber(row.both) ? " of " + formatCount(row.both) : "")
          : "—", true),
      ], rows, [], "ratings"));
    }

    function renderTraining(section, training) {
      const runs = list((training || {}).runs).filter(run => list(run.points).some(point => isNumber(point.step)));
      if (!runs.length) return notComputed(section);
      const width = 720, height = 300, left = 52, right = 14, top = 10, bottom = 34;
      let minStep = Infinity, maxStep = -Infinity, minLoss = Infinity, maxLoss = -Infinity;
      for (const run of runs) for (const point of run.points) {
        if (!isNumber(point.step)) continue;
        for (const loss of [point.loss, point.val_loss]) {
          if (!isNumber(loss)) continue;
          minStep = Math.min(minStep, point.step); maxStep = Math.max(maxStep, point.step);
          minLoss = Math.min(minLoss, loss); maxLoss = Math.max(maxLoss, loss);
        }
      }
      if (minStep === Infinity) return notComputed(section);
      const stepTicks = ticks(minStep, maxStep, 6), lossTicks = ticks(minLoss, maxLoss, 5);
      const x0 = stepTicks[0], x1 = stepTicks[stepTicks.length - 1];
      const y0 = lossTicks[0], y1 = lossTicks[lossTicks.length - 1];
      const x = step => left + (step - x0) / (x1 - x0 || 1) * (width - left - right);
      const y = loss => top + (y1 - loss) / (y1 - y0 || 1) * (height - top - bottom);
      const parts = [];
      for (const tick of lossTicks) {
        parts.push(svg("line", { class: "grid", x1: left, y1: y(tick), x2: width - right, y2: y(tick) }));
        parts.push(svg("text", { x: left - 5, y: y(tick) + 4, "text-anchor": "end" }, [formatDecimal(tick, 0, 3)]));
      }
      for (const tick of stepTicks) {
        parts.push(svg("text", { x: x(tick), y: height - bottom + 15, "text-anchor": "middle" }, [formatCount(tick)]));
      }
      parts.push(svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }));
      parts.push(svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: height - bottom }));
      parts.push(svg("text", { x: (left + width - right) / 2, y: height - 3, "text-anchor": "middle" }, ["step"]));
      const legend = [];
      runs.forEach((run, i) => {
        const colour = PALETTE[i % PALETTE.length], name = text(run.run);
        for (const [key, dashed] of [["loss", false], ["val_loss", true]]) {
          const points = run.points.filter(point => isNumber(point.step) && isNumber(point[key]));
          if (!points.length) continue;
          const label = name + (dashed ? " validation loss" : " training loss");
          const style = { fill: "none", stroke: colour, "stroke-width": 1.8 };
          if (dashed) style["stroke-dasharray"] = "5 3";
          // A lone point has no line to show, so it gets a dot.
          parts.push(points.length === 1
            ? svg("circle", { cx: x(points[0].step), cy: y(points[0][key]), r: 3, fill: colour }, [svg("title", {}, [label])])
            : svg("polyline", Object.assign(style, { points: points.map(point => x(point.step).toFixed(1) + "," + y(point[key]).toFixed(1)).join(" ") }),
              [svg("title", {}, [label])]));
          legend.push(html("li", {}, [swatch(colour, dashed ? "dashed" : "solid"), label]));
        }
      });
      section.append(svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Training and validation loss by step" }, parts));
      section.append(html("ul", { class: "legend" }, legend));
    }

    function readReport() {
      const report = JSON.parse(document.getElementById("report-data").textContent);
      if (report === null || typeof report !== "object" || Array.isArray(report)) throw new Error("the report is not a JSON object");
      return report;
    }

    function renderPage() {
      const root = document.getElementById("report");
      let report;
      try {
        report = readReport();
      } catch (error) {
        root.append(html("p", { class: "error" }, ["The report data could not be read: " + error.message]));
        throw error;
      }
      const order = subsetOrder(report);
      const colourOf = name => PALETTE[(order.get(String(name)) || 0) % PALETTE.length];
      const sections = [
        ["summary", "Summary", section => renderSummary(section, report)],
        ["table1", "Table 1: the corpus", section => renderTable1(section, report.table1)],
        ["ledger", "Generation ledger", section => renderLedger(section, report.ledger)],
        ["projection", "Embedding map (t-SNE)", section => renderProjection(section, report.projection, colourOf)],
        ["lengths", "Lengths", section => renderLengths(section, report.lengths, colourOf, order)],
        ["dedup", "Near-duplicate filter", section => renderDedup(section, report.dedup)],
        ["topics", "Topic coverage", section => renderTopics(section, report.topics)],
        ["ratings", "Quality ratings", section => renderRatings(section, report.ratings)],
        ["training", "Training curves", section => renderTraining(section, report.training)],
      ];
      // A section that cannot be drawn says so and the rest still appear.
      const failures = [];
      for (const [id, heading, render] of sections) {
        const section = html("section", { id }, [html("h2", {}, [heading])]);
        root.append(section);
        try {
          render(section);
        } catch (error) {
          section.append(html("p", { class: "error" }, ["This section could not be drawn: " + error.message]));
          failures.push(id + ": " + error.message);
        }
      }
      document.body.dataset.status = failures.length ? "error: " + failures.join("; ") : "ok";
    }

    renderPage();

    """#
}
