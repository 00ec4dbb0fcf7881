import Foundation
import Sampling

/// The `README.md` written next to an export: a Hugging Face dataset card.
public enum DatasetCard {
    /// Human-readable meaning of each column, in column order.
    static let columnNotes: [(String, String)] = [
        ("instruction", "The instruction. When the source gives a separate input it is appended as `instruction:input`."),
        ("response", "The response to the instruction."),
        ("instruction_source", "The subset the instruction comes from (LaMini-instruction's `instruction_source` names)."),
        ("response_source", "Where the response comes from: `seed` is the source's own response, else the teacher model that wrote it."),
        ("id", "`herd-<row id>`: the row of the Herd store the line was exported from."),
    ]

    /// The YAML front matter (with its `---` lines), as the Hugging Face hub reads it.
    public static func frontMatter(manifest: ExportManifest) -> String {
        let suffix = shardSuffix(manifest)
        let splits = Exporter.splits.filter { (manifest.totals.rowsPerSplit[$0] ?? 0) > 0 }
        var y = "---\n"
        y += "configs:\n"
        y += "- config_name: default\n"
        y += "  data_files:\n"
        for split in splits {
            y += "  - split: \(split)\n"
            y += "    path: \"\(split)-*\(suffix)\"\n"
        }
        y += "dataset_info:\n"
        y += "  features:\n"
        for column in manifest.columns {
            y += "  - name: \(column)\n"
            y += "    dtype: string\n"
        }
        y += "  splits:\n"
        for split in splits {
            y += "  - name: \(split)\n"
            y += "    num_examples: \(manifest.totals.rowsPerSplit[split] ?? 0)\n"
        }
        y += "---\n"
        return y
    }

    /// The whole card: front matter, description, `statsMarkdown` as given, the files, how to load them.
    /// `.jsonl.gz`, `.parquet`…: what the shards' names end with.
    static func shardSuffix(_ manifest: ExportManifest) -> String {
        Exporter.shardSuffix(format: ShardFormat(rawValue: manifest.format) ?? .jsonl,
                             compression: Compression(rawValue: manifest.compression) ?? .none)
    }

    public static func render(manifest: ExportManifest, statsMarkdown: String) -> String {
        let suffix = shardSuffix(manifest)
        let totals = manifest.totals
        let splits = Exporter.splits.filter { (totals.rowsPerSplit[$0] ?? 0) > 0 }
        var s = frontMatter(manifest: manifest)
        s += "\n# Herd instruction corpus\n\n"
        s += "Instruction–response pairs exported by Herd from its corpus store: \(totals.rows) rows in "
        let parquet = manifest.format == ShardFormat.parquet.rawValue
        s += "\(manifest.files.count) \(parquet ? "Parquet" : "JSON Lines") shard\(manifest.files.count == 1 ? "" : "s")"
        s += manifest.compression == "none" ? "" : " (\(manifest.compression)-compressed\(parquet ? " pages" : ""))"
        s += parquet
            ? ". Every column is a UTF-8 string; the columns are those of LaMini-instruction "
            : ". Each line is one JSON object with the columns of LaMini-instruction "
        s += "(`instruction`, `response`, `instruction_source`) followed by Herd's `response_source` and `id`:\n\n"
        s += "| Column | Meaning |\n|---|---|\n"
        for (column, note) in columnNotes { s += "| `\(column)` | \(note) |\n" }

        s += "\n## Sources\n\n"
        s += "Rows per source subset (`instruction_source`):\n\n"
        s += "| Subset | Rows |\n|---|---:|\n"
        for (subset, rows) in totals.rowsPerSubset.sorted(by: { $0.key < $1.key }) {
            s += "| \(cell(subset)) | \(rows) |\n"
        }
        if totals.skippedWithoutResponse > 0 {
            s += "\n\(totals.skippedWithoutResponse) row\(totals.skippedWithoutResponse == 1 ? "" : "s") of these subsets "
            s += "without a response \(totals.skippedWithoutResponse == 1 ? "was" : "were") left out.\n"
        }

        s += "\n## Splits\n\n"
        let validation = totals.rowsPerSplit["validation"] ?? 0, train = totals.rowsPerSplit["train"] ?? 0
        s += "The rows were shuffled with seed \(manifest.seed): \(DeterministicShuffle.algorithmSummary), "
        s += "over the rows in corpus order. The first round(\(manifest.valFraction) × \(totals.rows)) = \(validation) "
        s += "shuffled row\(validation == 1 ? "" : "s") form `validation`, the other \(train) `train`; each split is cut "
        s += "into shards of at most \(manifest.shardRows) rows, in shuffled order.\n"

        let stats = statsMarkdown.trimmingCharacters(in: .whitespacesAndNewlines)
        if !stats.isEmpty {
            s += "\n## Statistics\n\n\(stats)\n"
        }

        s += "\n## Files\n\n"
        s += "| File | Split | Rows | Bytes | SHA-256 |\n|---|---|---:|---:|---|\n"
        for f in manifest.files {
            s += "| `\(f.name)` | \(f.split) | \(f.rows) | \(f.bytes) | `\(f.sha256)` |\n"
        }
        s += "\n`manifest.json` lists the same files with their uncompressed sizes and the export's totals.\n"

        s += "\n## Loading\n\n"
        s += "```python\nfrom datasets import load_dataset\n\n"
        s += "ds = load_dataset(\"\(parquet ? "parquet" : "json")\", data_files={\n"
        for split in splits { s += "    \"\(split)\": \"\(split)-*\(suffix)\",\n" }
        s += "})\n```\n\n"
        s += "The paths are relative to the working directory: run this in the export's folder, or put the "
        s += "folder's path in front of them. `load_dataset(\"path/to/folder\")` reads the same files through "
        s += "the `configs` header of this card."
        if manifest.compression == "zstd" && !parquet {
            s += " Reading `.zst` files needs the `zstandard` package (`pip install zstandard`)."
        }
        s += "\n"
        return s
    }

    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
