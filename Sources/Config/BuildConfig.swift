import Foundation
import TOML

/// One seed source of `[[ingest.sources]]`.
public struct SourceSpec: Equatable, Sendable {
    /// As written in herd.toml (a path relative to the file's folder, or an http(s) URL).
    public var written: String
    /// Resolved against herd.toml's folder (URLs unchanged).
    public var location: String
    public var format: String
    public var subset: String?
    public var sha256: String?
    /// `ingest.sources[i].path`, for errors about the file.
    public var keyPath: String
    public var isURL: Bool { location.hasPrefix("http://") || location.hasPrefix("https://") }
}

/// `[topics]`: the Wikipedia category dump (and the page dumps that mark hidden categories) and
/// the paper's rules.
public struct TopicsSpec: Equatable, Sendable {
    public var categoryDump: String
    public var pageDump: String?
    public var pagePropsDump: String?
    public var fewerWordsThan = 3
    public var moreSubcatsThan: Int64 = 10
    public var morePagesThan: Int64 = 50
}

/// `[subsets.NAME]`: a target of the corpus.
public struct SubsetSpec: Equatable, Sendable {
    public enum Kind: String, Sendable { case generated, original }
    public var name: String
    public var kind: Kind
    /// Instructions the subset must end with (generated: kept by the novelty filter; original: sampled).
    public var target: Int
    /// Generated only: self_instruct, p3 or flan.
    public var pool: String?
    /// Generated only: topic-guided prompts (3 Wikipedia topics each).
    public var topics = false
    /// Generated only: instructions asked for per prompt.
    public var perPrompt: Int?
    public var keyPath: String
}

/// `[novelty]`: the ROUGE-L filter.
public struct NoveltySpec: Equatable, Sendable {
    public var threshold = 0.7
    public var strictBelow = false
    public var stem = false
    public var scope = "all"

    public init() {}
}

/// `[embed]` and `[project]`: the diversity view.
public struct DiversitySpec: Equatable, Sendable {
    public var model = "all-MiniLM-L6-v2"
    public var samplePerSubset = 50_000
    public var dtype = "float32"
    public var perplexity = 30.0
    public var iterations = 500

    public init() {}
}

/// `[export]`.
public struct ExportSpec: Equatable, Sendable {
    public var out = "export"
    public var shardRows = 100_000
    public var compression = "gzip"
    public var format = "jsonl"
    public var valFraction = 0.0
    public var seed: UInt64 = 0
    public var subsets: [String]? = nil
    public var includeDuplicates = false

    public init() {}
}

/// A whole herd.toml as `herd build` reads it. Structure and types are checked here; the values
/// other modules own (formats, pools, models) are checked by the build, which reports them at
/// their key's line through `error(_:_:)`.
public struct BuildConfig: Sendable {
    public var path: String
    public var directory: String
    public var herd: HerdConfig
    public var recipe: String?
    public var scale: Double?
    public var seed: UInt64 = 0
    /// Generation rounds per subset before the build gives up on a target.
    public var maxRounds = 50
    public var store: String
    public var skipBad = false
    public var sources: [SourceSpec] = []
    public var topics: TopicsSpec?
    public var novelty = NoveltySpec()
    public var subsets: [SubsetSpec] = []
    /// Completion token limits of generation and response requests (nil: `[teacher] max_tokens`).
    public var generationMaxTokens: Int?
    public var responseMaxTokens: Int?
    public var diversity = DiversitySpec()
    public var auditPerSubset = 50_000
    public var export = ExportSpec()
    public var reportOut = "report"
    public var reportTitle: String?
    /// Where each key was written, by key path.
    var positions: [String: TOMLPosition] = [:]

    /// An error "path.key: message" at the key's line (or the file's start when it was not written).
    public func error(_ keyPath: String, _ message: String) -> TOMLError {
        let p = positions[keyPath] ?? TOMLPosition(line: 1, column: 1)
        return TOMLError(file: path, line: p.line, column: p.column, message: "\(keyPath): \(message)")
    }

    /// Resolves a path written in herd.toml against its folder.
    public func resolve(_ written: String) -> String {
        if written.hasPrefix("/") || written.hasPrefix("http://") || written.hasPrefix("https://") { return written }
        return (directory as NSString).appendingPathComponent(written)
    }

    public static func load(path: String) throws -> BuildConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TOMLError(file: path, line: 0, column: 0, message: "no such file (create one with `herd init DIR --recipe lamini`)")
        }
        let herd = try HerdConfig.load(path: path)
        let root = TOMLSection(try TOML.parse(contentsOfFile: path), path: "", file: path)
        let directory = (path as NSString).deletingLastPathComponent
        var c = BuildConfig(path: path, directory: directory.isEmpty ? "." : directory, herd: herd, store: "herd.db")
        func note(_ s: TOMLSection, _ key: String) {
            if let p = s.table.position(of: key) { c.positions[s.keyPath(key)] = p }
        }
        func noteAll(_ s: TOMLSection) { for k in s.keys { note(s, k) } }
        func positiveInt(_ s: TOMLSection, _ key: String) throws -> Int? {
            guard let v = try s.int(key) else { return nil }
            guard v >= 1 else { throw s.error(key, "must be at least 1") }
            return Int(v)
        }
        func nonNegativeInt(_ s: TOMLSection, _ key: String) throws -> Int? {
            guard let v = try s.int(key) else { return nil }
            guard v >= 0 else { throw s.error(key, "must not be negative") }
            return Int(v)
        }
        func oneOf(_ s: TOMLSection, _ key: String, _ allowed: [String]) throws -> String? {
            guard let v = try s.string(key) else { return nil }
            guard allowed.contains(v) else { throw s.error(key, "expected one of \(allowed.joined(separator: ", ")), found \"\(v)\"") }
            return v
        }

        if let b = try root.section("build") {
            noteAll(b)
            c.recipe = try oneOf(b, "recipe", ["lamini"])
            if let scale = try b.double("scale") {
                guard scale > 0, scale <= 1 else { throw b.error("scale", "must be in (0, 1]") }
                c.scale = scale
            }
            if let seed = try b.int("seed") {
                guard seed >= 0 else { throw b.error("seed", "must not be negative") }
                c.seed = UInt64(seed)
            }
            c.maxRounds = try positiveInt(b, "max_rounds") ?? c.maxRounds
        }
        if let s = try root.section("store") { noteAll(s); c.store = try s.string("path") ?? c.store }
        if let i = try root.section("ingest") {
            noteAll(i)
            c.skipBad = try i.bool("skip_bad") ?? false
            let defaultFormat = try i.string("format") ?? "auto"
            for (n, s) in (try i.sectionArray("sources") ?? []).enumerated() {
                try s.checkKnownKeys(["path", "format", "subset", "sha256"])
                noteAll(s)
                guard let written = try s.string("path") else { throw s.error("path", "missing: every source needs a path or URL") }
                if let sha = try s.string("sha256"), sha.count != 64 || !sha.allSatisfy(\.isHexDigit) {
                    throw s.error("sha256", "expected 64 hexadecimal digits")
                }
                if let subset = try s.string("subset"), subset.isEmpty || subset.contains(where: \.isWhitespace) {
                    throw s.error("subset", "expected a name without spaces")
                }
                c.sources.append(SourceSpec(written: written, location: c.resolve(written), format: try s.string("format") ?? defaultFormat,
                                            subset: try s.string("subset"), sha256: try s.string("sha256"),
                                            keyPath: "ingest.sources[\(n)].path"))
                c.positions["ingest.sources[\(n)]"] = s.position
            }
        }
        if let t = try root.section("topics") {
            noteAll(t)
            guard let dump = try t.string("category_dump") else { throw t.error("category_dump", "missing: the Wikipedia category dump to mine") }
            var spec = TopicsSpec(categoryDump: c.resolve(dump))
            spec.pageDump = try t.string("page_dump").map(c.resolve)
            spec.pagePropsDump = try t.string("page_props_dump").map(c.resolve)
            if (spec.pageDump == nil) != (spec.pagePropsDump == nil) {
                throw t.error(spec.pageDump == nil ? "page_props_dump" : "page_dump", "page_dump and page_props_dump go together")
            }
            spec.fewerWordsThan = try positiveInt(t, "fewer_words_than") ?? spec.fewerWordsThan
            spec.moreSubcatsThan = Int64(try nonNegativeInt(t, "more_subcats_than") ?? Int(spec.moreSubcatsThan))
            spec.morePagesThan = Int64(try nonNegativeInt(t, "more_pages_than") ?? Int(spec.morePagesThan))
            c.topics = spec
        }
        if let n = try root.section("novelty") {
            noteAll(n)
            if let t = try n.double("threshold") {
                guard t > 0, t <= 1 else { throw n.error("threshold", "must be in (0, 1]") }
                c.novelty.threshold = t
            }
            c.novelty.strictBelow = try n.bool("strict_below") ?? false
            c.novelty.stem = try n.bool("stem") ?? false
            c.novelty.scope = try oneOf(n, "scope", ["all", "subset"]) ?? "all"
        }
        if let g = try root.section("generate") {
            noteAll(g)
            c.generationMaxTokens = try positiveInt(g, "max_tokens")
        }
        if let r = try root.section("responses") {
            noteAll(r)
            c.responseMaxTokens = try positiveInt(r, "max_tokens")
        }
        if let subsets = try root.section("subsets") {
            for name in subsets.keys {
                guard let s = try subsets.section(name) else { continue }
                try s.checkKnownKeys(["kind", "target", "pool", "topics", "per_prompt"])
                noteAll(s)
                guard let kindName = try oneOf(s, "kind", ["generated", "original"]) else {
                    throw s.error("kind", "missing: generated (by the teacher from a seed pool) or original (sampled from ingested data)")
                }
                guard let target = try nonNegativeInt(s, "target") else { throw s.error("target", "missing: how many instructions the subset ends with") }
                var spec = SubsetSpec(name: name, kind: SubsetSpec.Kind(rawValue: kindName)!, target: target, keyPath: s.path)
                if spec.kind == .generated {
                    guard let pool = try oneOf(s, "pool", ["self_instruct", "p3", "flan"]) else {
                        throw s.error("pool", "missing: the seed pool examples are drawn from (self_instruct, p3 or flan)")
                    }
                    spec.pool = pool
                    spec.topics = try s.bool("topics") ?? false
                    if spec.topics, pool != "self_instruct" { throw s.error("topics", "topic-guided prompts use the self_instruct pool only") }
                    spec.perPrompt = try positiveInt(s, "per_prompt")
                } else {
                    for key in ["pool", "topics", "per_prompt"] where s.table[key] != nil {
                        throw s.error(key, "applies to generated subsets only")
                    }
                }
                c.subsets.append(spec)
            }
        }
        if let e = try root.section("embed") {
            noteAll(e)
            c.diversity.model = try e.string("model") ?? c.diversity.model
            c.diversity.samplePerSubset = try positiveInt(e, "sample_per_subset") ?? c.diversity.samplePerSubset
            c.diversity.dtype = try oneOf(e, "dtype", ["float32", "float16"]) ?? c.diversity.dtype
        }
        if let p = try root.section("project") {
            noteAll(p)
            if let v = try p.double("perplexity") {
                guard v > 0 else { throw p.error("perplexity", "must be positive") }
                c.diversity.perplexity = v
            }
            c.diversity.iterations = try positiveInt(p, "iterations") ?? c.diversity.iterations
        }
        if let a = try root.section("audit") {
            noteAll(a)
            c.auditPerSubset = try nonNegativeInt(a, "per_subset") ?? c.auditPerSubset
        }
        if let x = try root.section("export") {
            noteAll(x)
            c.export.out = try x.string("out") ?? c.export.out
            c.export.shardRows = try positiveInt(x, "shard_rows") ?? c.export.shardRows
            c.export.compression = try oneOf(x, "compression", ["gzip", "zstd", "none"]) ?? c.export.compression
            c.export.format = try oneOf(x, "format", ["jsonl", "parquet"]) ?? c.export.format
            if let v = try x.double("val_fraction") {
                guard v >= 0, v < 1 else { throw x.error("val_fraction", "must be in [0, 1)") }
                c.export.valFraction = v
            }
            if let seed = try x.int("seed") {
                guard seed >= 0 else { throw x.error("seed", "must not be negative") }
                c.export.seed = UInt64(seed)
            }
            c.export.subsets = try x.stringArray("subsets").flatMap { $0.isEmpty ? nil : $0 }
            c.export.includeDuplicates = try x.bool("include_duplicates") ?? false
        }
        if let r = try root.section("report") {
            noteAll(r)
            c.reportOut = try r.string("out") ?? c.reportOut
            c.reportTitle = try r.string("title")
        }
        if let t = try root.section("teacher") { noteAll(t) }
        return c
    }
}
