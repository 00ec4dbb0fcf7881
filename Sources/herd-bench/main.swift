// herd-bench: generates a LaMini-sized corpus (2.58M records, ≈1.5 GB of JSONL) and measures the
// real `herd` binary on it, one process per figure so that peak memory is that command's own.
// Prints one line per figure: name value unit.
import Foundation
import Sampling

struct Options {
    var herd = ".build/release/herd"
    var dir = "bench-data"
    var records = 2_580_000
    var generateOnly = false
    /// Figure groups to run: ingest, stats, export, topics (stats and export need ingest's store).
    var only: Set<String> = ["ingest", "stats", "export", "topics", "dedup", "teacher", "local_teacher", "train", "embed", "tsne"]
    /// Corpus sizes for the dedup figures.
    var dedupSizes = [100_000, 1_000_000, 2_580_000]
    var categories = 2_500_000
    /// Points of the t-SNE figures.
    var tsneSizes = [10_000, 50_000, 200_000]
    /// Requests of the teacher throughput figure.
    var teacherRequests = 100_000
}

var options = Options()
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
    switch a {
    case "--herd": options.herd = args.next() ?? options.herd
    case "--dir": options.dir = args.next() ?? options.dir
    case "--records": options.records = Int(args.next() ?? "") ?? options.records
    case "--generate-only": options.generateOnly = true
    case "--only": options.only = Set((args.next() ?? "").split(separator: ",").map(String.init))
    case "--categories": options.categories = Int(args.next() ?? "") ?? options.categories
    case "--dedup-sizes": options.dedupSizes = (args.next() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--tsne-sizes": options.tsneSizes = (args.next() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--teacher-requests": options.teacherRequests = Int(args.next() ?? "") ?? options.teacherRequests
    default:
        FileHandle.standardError.write(Data("usage: herd-bench [--herd PATH] [--dir DIR] [--records N] [--categories N] [--only ingest,stats,export,topics,dedup,teacher,local_teacher,train,embed,tsne] [--tsne-sizes 10000,50000,200000] [--dedup-sizes 100000,1000000] [--teacher-requests N] [--generate-only]\n".utf8))
        exit(2)
    }
}

extension SplitMix64 {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// A vocabulary with Zipf-like frequencies: word i is drawn with probability ∝ 1/(i+1).
struct Vocabulary {
    let words: [[UInt8]]
    let cumulative: [Double]
    init(rng: inout SplitMix64) {
        let letters = Array("etaoinshrdlucmfwypvbgkjqxz".utf8)
        var seen = Set<[UInt8]>()
        var list: [[UInt8]] = []
        while list.count < 20_000 {
            let length = 2 + rng.below(9)
            var w: [UInt8] = []
            for _ in 0..<length { w.append(letters[min(rng.below(26), rng.below(26))]) }
            if seen.insert(w).inserted { list.append(w) }
        }
        words = list
        var c: [Double] = []
        var sum = 0.0
        for i in 0..<list.count { sum += 1.0 / Double(i + 1); c.append(sum) }
        cumulative = c.map { $0 / sum }
    }
    func draw(_ rng: inout SplitMix64) -> [UInt8] {
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        var lo = 0, hi = cumulative.count - 1
        while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] < u { lo = mid + 1 } else { hi = mid } }
        return words[lo]
    }
}

func sentence(_ words: Int, _ vocab: Vocabulary, _ rng: inout SplitMix64, into out: inout [UInt8]) {
    for i in 0..<words {
        if i > 0 { out.append(rng.below(12) == 0 ? UInt8(ascii: ",") : 0x20); if out.last == UInt8(ascii: ",") { out.append(0x20) } }
        out.append(contentsOf: vocab.draw(&rng))
    }
    out.append(UInt8(ascii: "."))
}

/// Writes `records` records as JSONL and as one Alpaca-style JSON array (indent 4), ≈580 bytes a record.
func generate(jsonl: String, array: String, records: Int) throws {
    var rng = SplitMix64(seed: 2580)
    let vocab = Vocabulary(rng: &rng)
    FileManager.default.createFile(atPath: jsonl, contents: nil)
    FileManager.default.createFile(atPath: array, contents: nil)
    let a = FileHandle(forWritingAtPath: jsonl)!, b = FileHandle(forWritingAtPath: array)!
    var lineBuf: [UInt8] = [], arrayBuf: [UInt8] = Array("[\n".utf8)
    var instruction: [UInt8] = [], input: [UInt8] = [], output: [UInt8] = []
    for i in 0..<records {
        instruction.removeAll(keepingCapacity: true); input.removeAll(keepingCapacity: true); output.removeAll(keepingCapacity: true)
        sentence(6 + rng.below(14), vocab, &rng, into: &instruction)
        if rng.below(3) == 0 { sentence(5 + rng.below(25), vocab, &rng, into: &input) }
        let paragraphs = 1 + rng.below(3)
        for p in 0..<paragraphs {
            if p > 0 { output.append(contentsOf: Array("\\n\\n".utf8)) }
            sentence(15 + rng.below(40), vocab, &rng, into: &output)
        }
        lineBuf += Array("{\"instruction\": \"".utf8) + instruction + Array("\", \"input\": \"".utf8) + input
            + Array("\", \"output\": \"".utf8) + output + Array("\"}\n".utf8)
        arrayBuf += Array("    {\n        \"instruction\": \"".utf8) + instruction + Array("\",\n        \"input\": \"".utf8) + input
            + Array("\",\n        \"output\": \"".utf8) + output + Array("\"\n    }".utf8) + Array((i + 1 < records ? ",\n" : "\n]\n").utf8)
        if lineBuf.count > 8 << 20 { a.write(Data(lineBuf)); lineBuf.removeAll(keepingCapacity: true) }
        if arrayBuf.count > 8 << 20 { b.write(Data(arrayBuf)); arrayBuf.removeAll(keepingCapacity: true) }
    }
    a.write(Data(lineBuf)); b.write(Data(arrayBuf))
    try a.close(); try b.close()
}

/// Writes a `category` table dump in enwiki's layout (banner, CREATE TABLE, extended INSERTs of
/// about 1 MB a line): `categories` rows with 1–9 word titles, about 4% with quotes or backslashes
/// to escape and 10% with non-ASCII UTF-8 words, and heavy-tailed member counts.
func generateCategoryDump(path: String, categories: Int) throws {
    var rng = SplitMix64(seed: 2_500_000)
    let vocab = Vocabulary(rng: &rng)
    let foreign = ["Café", "Zürich", "Москва", "東京", "São_Paulo", "Kraków", "Ελλάδα", "İstanbul", "Ñandú", "Łódź"].map { Array($0.utf8) }
    FileManager.default.createFile(atPath: path, contents: nil)
    let h = FileHandle(forWritingAtPath: path)!
    var out = Array("""
        /*!40101 SET NAMES utf8mb4 */;
        DROP TABLE IF EXISTS `category`;
        CREATE TABLE `category` (
          `cat_id` int(10) unsigned NOT NULL AUTO_INCREMENT,
          `cat_title` varbinary(255) NOT NULL DEFAULT '',
          `cat_pages` int(11) NOT NULL DEFAULT 0,
          `cat_subcats` int(11) NOT NULL DEFAULT 0,
          `cat_files` int(11) NOT NULL DEFAULT 0,
          PRIMARY KEY (`cat_id`),
          UNIQUE KEY `cat_title` (`cat_title`),
          KEY `cat_pages` (`cat_pages`)
        ) ENGINE=InnoDB AUTO_INCREMENT=249284673 DEFAULT CHARSET=binary ROW_FORMAT=COMPRESSED;
        /*!40000 ALTER TABLE `category` DISABLE KEYS */;

        """.utf8)
    let insert = Array("INSERT INTO `category` VALUES ".utf8)
    var lineBytes = 0
    var id = 10_000_000
    for row in 0..<categories {
        if lineBytes == 0 { out += insert; lineBytes = insert.count }
        id += 1 + rng.below(180)
        var title: [UInt8] = []
        let words = rng.below(8) == 0 ? 1 + rng.below(2) : 2 + rng.below(8)
        for w in 0..<words {
            if w > 0 { title.append(UInt8(ascii: "_")) }
            if rng.below(40) == 0 {
                title += foreign[rng.below(foreign.count)]
            } else {
                var word = vocab.draw(&rng)
                word[0] = word[0] &- 32 // capitalised, as titles are
                title += word
            }
        }
        switch rng.below(100) {
        case 0, 1: title += Array(#"_(\'s)"#.utf8)
        case 2: title += Array(#"_\"quoted\""#.utf8)
        case 3: title += Array(#"_a\\b"#.utf8)
        default: break
        }
        let subcats = rng.below(4) == 0 ? rng.below(60) : rng.below(4)
        let files = rng.below(20) == 0 ? rng.below(100) : 0
        let pages = subcats + files + (rng.below(10) == 0 ? rng.below(5000) : rng.below(120)) - (rng.below(1000) == 0 ? 200 : 0)
        let tuple = Array("(\(id),'".utf8) + title + Array("',\(pages),\(subcats),\(files))".utf8)
        out += tuple
        lineBytes += tuple.count
        if lineBytes > 1_000_000 || row == categories - 1 {
            out += Array(";\n".utf8)
            lineBytes = 0
        } else {
            out.append(UInt8(ascii: ","))
        }
        if out.count > 8 << 20 { h.write(Data(out)); out.removeAll(keepingCapacity: true) }
    }
    out += Array("/*!40000 ALTER TABLE `category` ENABLE KEYS */;\n".utf8)
    h.write(Data(out))
    try h.close()
}

/// Real instruction texts from the bundled fixtures (Alpaca, Self-Instruct, LaMini, P3 prompts,
/// FLAN CoT questions), as word lists: the material of the dedup corpus.
func realInstructionWords(fixtures: String) throws -> [[String]] {
    var texts: [String] = []
    func jsonLines(_ path: String, _ field: String) throws {
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            if let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let t = o[field] as? String { texts.append(t) }
        }
    }
    let alpaca = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/alpaca/alpaca_data_first200.json"))) as! [[String: Any]]
    texts += alpaca.compactMap { $0["instruction"] as? String }
    try jsonLines("\(fixtures)/self-instruct/seed_tasks.jsonl", "instruction")
    try jsonLines("\(fixtures)/self-instruct/user_oriented_instructions.jsonl", "instruction")
    try jsonLines("\(fixtures)/lamini/dataset_card_examples.jsonl", "instruction")
    for f in try FileManager.default.contentsOfDirectory(atPath: "\(fixtures)/p3-jsonl").sorted() where f.hasSuffix(".jsonl") {
        try jsonLines("\(fixtures)/p3-jsonl/\(f)", "prompt")
    }
    for f in ["cot_qasc_train.tsv", "cot_strategyqa_train.tsv"] {
        for line in try String(contentsOfFile: "\(fixtures)/flan/\(f)", encoding: .utf8).split(separator: "\n") {
            if let q = line.split(separator: "\t").first { texts.append(q.components(separatedBy: "\\n").first ?? "") }
        }
    }
    return texts.map { $0.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init) }
        .filter { $0.count >= 3 && $0.count <= 60 }
}

/// Writes `count` instructions, one per line, for `herd dedup --input`: new sentences from a
/// word-bigram model of real instructions (5–20 words for most, some up to 60), and about a
/// quarter near-copies of earlier lines or of the real texts (1–3 word drops, swaps, insertions,
/// substitutions), the share of near-duplicates generated instruction sets have.
func generateDedupCorpus(path: String, count: Int, real: [[String]]) throws {
    var rng = SplitMix64(seed: 70_000 + UInt64(count))
    var next: [String: [String]] = [:]
    var starts: [String] = []
    var vocabulary: [String] = []
    for words in real {
        starts.append(words[0])
        for (a, b) in zip(words, words.dropFirst()) { next[a, default: []].append(b) }
        next[words.last!, default: []].append("")
        vocabulary += words
    }
    func perturb(_ words: [String]) -> [String] {
        var w = words
        for _ in 0..<(1 + rng.below(3)) {
            switch rng.below(4) {
            case 0 where w.count > 3: w.remove(at: rng.below(w.count))
            case 1 where w.count > 1: let i = rng.below(w.count - 1); w.swapAt(i, i + 1)
            case 2: w.insert(vocabulary[rng.below(vocabulary.count)], at: rng.below(w.count + 1))
            default: w[rng.below(w.count)] = vocabulary[rng.below(vocabulary.count)]
            }
        }
        return w
    }
    var lines: [[String]] = []
    lines.reserveCapacity(count)
    FileManager.default.createFile(atPath: path, contents: nil)
    let h = FileHandle(forWritingAtPath: path)!
    var out: [UInt8] = []
    for _ in 0..<count {
        var words: [String]
        let r = rng.below(100)
        if r < 20, !lines.isEmpty {
            words = perturb(lines[rng.below(lines.count)])
        } else if r < 25 {
            words = perturb(real[rng.below(real.count)])
        } else {
            let target = rng.below(10) == 0 ? 20 + rng.below(41) : 5 + rng.below(16)
            words = [starts[rng.below(starts.count)]]
            // Walk the bigrams; a sentence that ends too early restarts from a fresh start word.
            while words.count < target {
                let followers = next[words.last!] ?? []
                let w = followers.isEmpty ? "" : followers[rng.below(followers.count)]
                if w.isEmpty {
                    if words.count >= 5 { break }
                    words.append(starts[rng.below(starts.count)])
                    continue
                }
                words.append(w)
            }
        }
        lines.append(words)
        out += Array(words.joined(separator: " ").utf8)
        out.append(0x0A)
        if out.count > 8 << 20 { h.write(Data(out)); out.removeAll(keepingCapacity: true) }
    }
    h.write(Data(out))
    try h.close()
}

/// Whether Herd's verdicts equal the naive loop's: the same kept lines, and for dropped lines the
/// same best line and score (kept lines' best matches are only exact from the report floor up).
func verdictsAgree(herd: String, reference: String) throws -> Bool {
    // JSONDecoder reads doubles exactly (JSONSerialization can be off by one ulp on Linux).
    struct Verdict: Decodable { var line: Int; var kept: Bool; var best_line: Int?; var score: Double }
    func load(_ path: String) throws -> [Verdict] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Verdict.self, from: Data($0.utf8))
        }
    }
    let a = try load(herd), b = try load(reference)
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) {
        guard x.line == y.line, x.kept == y.kept else { return false }
        if !x.kept, x.best_line != y.best_line || x.score != y.score { return false }
    }
    return true
}

/// The two text sets of the embedding figures, from the bundled fixtures' real texts: 5,000 short
/// ones (instructions of 12–28 words, ≈15 on average, cycled in a seeded order) and 2,000 long
/// ones (70–90 consecutive words of real responses and passages, ≈80 on average).
func generateEmbedTexts(fixtures: String, short: String, long: String) throws -> (shortWords: Double, longWords: Double) {
    var rng = SplitMix64(seed: 80_000)
    let instructions = try realInstructionWords(fixtures: fixtures).filter { $0.count >= 12 && $0.count <= 28 }
    var lines: [String] = []
    var shortWords = 0
    while lines.count < 5_000 {
        var order = Array(instructions.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        for i in order where lines.count < 5_000 {
            lines.append(instructions[i].joined(separator: " "))
            shortWords += instructions[i].count
        }
    }
    try (lines.joined(separator: "\n") + "\n").write(toFile: short, atomically: true, encoding: .utf8)

    // Responses: Alpaca outputs, Self-Instruct instance outputs, P3 completions, as one word stream.
    var words: [String] = []
    func add(_ text: String) { words += text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init) }
    let alpaca = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/alpaca/alpaca_data_first200.json"))) as! [[String: Any]]
    for record in alpaca { add(record["output"] as? String ?? "") }
    for file in ["seed_tasks.jsonl", "user_oriented_instructions.jsonl"] {
        for line in try String(contentsOfFile: "\(fixtures)/self-instruct/\(file)", encoding: .utf8).split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            for instance in o?["instances"] as? [[String: Any]] ?? [] {
                add(instance["input"] as? String ?? "")
                add(instance["output"] as? String ?? "")
            }
        }
    }
    lines = []
    var longWords = 0, at = 0
    while lines.count < 2_000 {
        let n = 70 + rng.below(21)
        var chunk: [String] = []
        for _ in 0..<n { chunk.append(words[at % words.count]); at += 1 }
        lines.append(chunk.joined(separator: " "))
        longWords += n
    }
    try (lines.joined(separator: "\n") + "\n").write(toFile: long, atomically: true, encoding: .utf8)
    return (Double(shortWords) / 5_000, Double(longWords) / 2_000)
}

/// A stand-in for sentence embeddings, as a float32 .npy of n × 384: unit vectors drawn around
/// 250 random centres, cluster sizes Zipf-like and spreads between 0.8 and 1.6 of the centres.
/// scale, so the t-SNE has many clusters of unequal size and tightness to separate. Rows are
/// independent draws, so the first n rows of a larger file are a sample of the same mixture.
func generateEmbeddingMixture(path: String, n: Int, d: Int = 384) throws {
    var rng = SplitMix64(seed: 90_000)
    func gaussian() -> Float { Float(rng.nextGaussian()) }
    let clusters = 250
    let centres = (0..<(clusters * d)).map { _ in gaussian() }
    let spreads = (0..<clusters).map { _ in 0.8 + 0.8 * Float(rng.next() % 1000) / 1000 }
    var cumulative: [Double] = []
    var total = 0.0
    for c in 0..<clusters { total += 1 / Double(c + 1).squareRoot(); cumulative.append(total) }
    var header: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
    var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(n), \(d)), }"
    while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
    dict += "\n"
    header += [UInt8(dict.utf8.count & 0xFF), UInt8(dict.utf8.count >> 8)] + Array(dict.utf8)
    FileManager.default.createFile(atPath: path, contents: Data(header))
    let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try h.seekToEnd()
    var row = [Float](repeating: 0, count: d)
    var block = Data()
    for i in 0..<n {
        let u = Double(rng.next() >> 11) / 9_007_199_254_740_992.0 * total
        var c = 0
        while cumulative[c] < u { c += 1 }
        var norm: Float = 0
        for j in 0..<d { row[j] = centres[c * d + j] + spreads[c] * gaussian(); norm += row[j] * row[j] }
        let inv = 1 / norm.squareRoot()
        for j in 0..<d { row[j] *= inv }
        row.withUnsafeBytes { block.append(contentsOf: $0) }
        if block.count > 16 << 20 || i == n - 1 { try h.write(contentsOf: block); block.removeAll(keepingCapacity: true) }
    }
    try h.close()
}

/// Runs a command; returns wall seconds and peak resident memory in bytes.
func measure(_ argv: [String], environment: [String: String] = [:]) -> (seconds: Double, peakBytes: Int64) {
    var pid: pid_t = 0
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    let cArgs = argv.map { strdup($0) } + [nil]
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    let start = Date()
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
    guard rc == 0 else { fatalError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    wait4(pid, &status, 0, &usage)
    let seconds = Date().timeIntervalSince(start)
    if status != 0 { fatalError("\(argv.joined(separator: " ")) failed with status \(status)") }
    return (seconds, Int64(usage.ru_maxrss) * 1024)
}

func report(_ name: String, _ value: Double, _ unit: String) {
    print("\(name) \(String(format: "%.1f", value)) \(unit)")
    fflush(stdout)
}

func fileSize(_ path: String) -> Int64 { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0 }

let fm = FileManager.default
try fm.createDirectory(atPath: options.dir, withIntermediateDirectories: true)
let jsonl = "\(options.dir)/corpus-\(options.records).jsonl"
let array = "\(options.dir)/corpus-\(options.records).json"
let needsCorpus = !options.only.isDisjoint(with: ["ingest", "stats", "export"])
if needsCorpus, fileSize(jsonl) == 0 || fileSize(array) == 0 {
    FileHandle.standardError.write(Data("generating \(options.records) records into \(options.dir)/ …\n".utf8))
    try generate(jsonl: jsonl, array: array, records: options.records)
}
let categoryDump = "\(options.dir)/category-\(options.categories).sql"
if options.only.contains("topics"), fileSize(categoryDump) == 0 {
    FileHandle.standardError.write(Data("generating a category dump of \(options.categories) rows into \(options.dir)/ …\n".utf8))
    try generateCategoryDump(path: categoryDump, categories: options.categories)
}
if options.generateOnly { exit(0) }
let herd = options.herd
func freshStore(_ name: String) -> String {
    let dir = "\(options.dir)/\(name)"
    try? fm.removeItem(atPath: dir)
    _ = measure([herd, "init", dir])
    return "\(dir)/herd.db"
}

let mb = 1e6
/// `herd generate status --json` of a store.
func generateStatus(store: String) throws -> [String: Any] {
    let status = Process()
    status.executableURL = URL(fileURLWithPath: herd)
    status.arguments = ["generate", "status", "--json", "--store", store]
    let out = Pipe()
    status.standardOutput = out
    try status.run()
    let json = try JSONSerialization.jsonObject(with: out.fileHandleForReading.readDataToEndOfFile()) as! [String: Any]
    status.waitUntilExit()
    return json
}
if options.only.contains("topics") {
    let store = freshStore("store-topics")
    let bytes = Double(fileSize(categoryDump))
    // Parse and classify only (--dry-run), then the whole mining into the store.
    let parse = measure([herd, "topics", "mine", "--dry-run", categoryDump])
    report("topics_parse_mb_per_s", bytes / mb / parse.seconds, "MB/s")
    report("topics_parse_peak_memory", Double(parse.peakBytes) / 1_048_576.0, "MiB")
    let mine = measure([herd, "topics", "mine", "--store", store, categoryDump])
    report("topics_mine_seconds", mine.seconds, "s")
    report("topics_rows_per_s", Double(options.categories) / mine.seconds, "rows/s")
    report("topics_mine_mb_per_s", bytes / mb / mine.seconds, "MB/s")
    report("topics_mine_peak_memory", Double(mine.peakBytes) / 1_048_576.0, "MiB")
    try? fm.removeItem(atPath: "\(options.dir)/store-topics")
}
if options.only.contains("dedup") {
    let fixtures = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures").path
    let real = try realInstructionWords(fixtures: FileManager.default.fileExists(atPath: fixtures) ? fixtures : "fixtures")
    var seconds100k: Double?
    for size in options.dedupSizes {
        let corpus = "\(options.dir)/dedup-\(size).txt"
        if fileSize(corpus) == 0 {
            FileHandle.standardError.write(Data("generating \(size) instructions into \(corpus) …\n".utf8))
            try generateDedupCorpus(path: corpus, count: size, real: real)
        }
        let out = "\(options.dir)/dedup-\(size).verdicts.jsonl"
        let run = measure([herd, "dedup", "--input", corpus, "--out", out])
        let name = size == 2_580_000 ? "2_58m" : size % 1_000_000 == 0 ? "\(size / 1_000_000)m" : "\(size / 1000)k"
        report("dedup_seconds_\(name)", run.seconds, "s")
        report("dedup_peak_memory_\(name)", Double(run.peakBytes) / 1_048_576.0, "MiB")
        let verdicts = try String(contentsOfFile: out, encoding: .utf8)
        let kept = verdicts.split(separator: "\n").filter { $0.contains("\"kept\":true") }.count
        report("dedup_kept_share_\(name)", 100.0 * Double(kept) / Double(size), "%")
        if size == 100_000 { seconds100k = run.seconds }
    }
    // The naive loop over rouge_score (Alpaca's and Self-Instruct's) on a 5K sample, extrapolated
    // quadratically to 100K, against Herd's 100K time; the sample's verdicts are compared too.
    let python = ".venv/bin/python"
    if let seconds100k, FileManager.default.isExecutableFile(atPath: python) {
        let corpus = "\(options.dir)/dedup-100000.txt"
        let sample = "\(options.dir)/dedup-sample-5000.txt"
        let lines = try String(contentsOfFile: corpus, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).prefix(5000)
        try (lines.joined(separator: "\n") + "\n").write(toFile: sample, atomically: true, encoding: .utf8)
        let reference = "\(options.dir)/dedup-sample-5000.rouge_score.jsonl"
        let naive = measure(["/bin/sh", "-c", "\(python) Tests/DedupTests/naive_rouge_filter.py \(sample) > \(reference)"])
        _ = measure([herd, "dedup", "--input", sample, "--out", "\(options.dir)/dedup-sample-5000.herd.jsonl"])
        report("dedup_rouge_score_seconds_5k", naive.seconds, "s")
        report("dedup_speedup_vs_rouge_score", naive.seconds * 400 / seconds100k, "x")
        let same = try verdictsAgree(herd: "\(options.dir)/dedup-sample-5000.herd.jsonl", reference: reference)
        report("dedup_verdicts_identical_5k", same ? 1 : 0, "bool")
    }
}
if options.only.contains("local_teacher") {
    // The built-in teacher answering Alpaca instructions greedily, 128 new tokens at most: one at a
    // time (batch 1, 8 instructions) and 32 at a time (64 instructions). Tokens are the completion
    // tokens the ledger records; the time is the whole command (model load included).
    let rows = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "fixtures/alpaca/alpaca_data_first200.json"))) as! [Any]
    var tokensPerSecond: [Int: Double] = [:]
    for (batch, count) in [(1, 8), (32, 64)] {
        let input = "\(options.dir)/local-teacher-\(count).json"
        try JSONSerialization.data(withJSONObject: Array(rows.prefix(count))).write(to: URL(fileURLWithPath: input))
        let store = freshStore("store-local-teacher")
        _ = measure([herd, "ingest", "--store", store, input])
        let run = measure([herd, "generate", "responses", "--store", store, "--subset", "alpaca", "--teacher", "local",
                           "--max-tokens", "128", "--temperature", "0", "--batch-size", String(batch)])
        let statusJSON = try generateStatus(store: store)
        let tokens = (statusJSON["ledger"] as? [[String: Any]] ?? []).reduce(0.0) { $0 + (($1["completion_tokens"] as? NSNumber)?.doubleValue ?? 0) }
        tokensPerSecond[batch] = tokens / run.seconds
        report("local_teacher_tokens_per_s_batch\(batch)", tokens / run.seconds, "tok/s")
        report("local_teacher_peak_memory_batch\(batch)", Double(run.peakBytes) / 1_048_576.0, "MiB")
        try? fm.removeItem(atPath: "\(options.dir)/store-local-teacher")
    }
    // llama.cpp (llama-cpp-python in .venv-bench) on the same model and prompts, one at a time.
    let python = ".venv-bench/bin/python"
    if FileManager.default.isExecutableFile(atPath: python) {
        let out = "\(options.dir)/llamacpp-teacher.json"
        let run = measure([python, "scripts/bench_llamacpp.py", "fixtures/alpaca/alpaca_data_first200.json", "8", "128", out])
        if run.seconds > 0, let data = FileManager.default.contents(atPath: out),
           let result = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let rate = (result["tokens_per_s"] as? NSNumber)?.doubleValue {
            report("llamacpp_tokens_per_s_batch1", rate, "tok/s")
            report("llamacpp_peak_memory", (result["peak_rss_mib"] as? NSNumber)?.doubleValue ?? 0, "MiB")
            if let b1 = tokensPerSecond[1] { report("local_teacher_batch1_vs_llamacpp", b1 / rate, "x") }
            if let b32 = tokensPerSecond[32] { report("local_teacher_batch32_vs_llamacpp_batch1", b32 / rate, "x") }
        }
    }
}
if options.only.contains("train") {
    // herd train on Alpaca's first 200 pairs (exported as shards), forward + backward + AdamW.
    // Each figure is the difference of two runs of different lengths, so loading, tokenising,
    // the final checkpoint and the GGUF writing cancel out: tokens/s = (extra steps × batch ×
    // context) / extra seconds. PyTorch CPU (scripts/bench_train_torch.py, .venv-bench) trains
    // the same architecture on the same batch shape with the same 2 threads. Both learn every
    // token (--learn-prompt), so both compute the output head on every row.
    let store = freshStore("store-train")
    let shards = "\(options.dir)/train-export"
    try? fm.removeItem(atPath: shards)
    _ = measure([herd, "ingest", "--store", store, "fixtures/alpaca/alpaca_data_first200.json"])
    _ = measure([herd, "export", "--store", store, "--val-fraction", "0.1", "--seed", "1", shards])
    let python = ".venv-bench/bin/python"
    let teacher = (ProcessInfo.processInfo.environment["HERD_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
        ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/herd/models")) + "/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
    for (name, model, batch, steps, torchConfig) in [("20m", ["--config", "configs/student-20m.toml"], 4, (2, 8), "tiny20m"),
                                                     ("smollm2_135m", ["--init-from", teacher], 1, (1, 4), "smollm2-135m")] {
        var seconds: [Double] = [], peak: Int64 = 0
        for n in [steps.0, steps.1] {
            let out = "\(options.dir)/train-run-\(name)-\(n)"
            try? fm.removeItem(atPath: out)
            let run = measure([herd, "train", "--data", shards, "--out", out] + model + ["--steps", String(n), "--batch-size", String(batch),
                               "--context", "256", "--eval-every", "0", "--eval-sequences", "0", "--eval-samples", "0", "--checkpoint-every", "1000",
                               "--learn-prompt"])
            seconds.append(run.seconds); peak = max(peak, run.peakBytes)
            try? fm.removeItem(atPath: out)
        }
        let rate = Double((steps.1 - steps.0) * batch * 256) / (seconds[1] - seconds[0])
        report("train_tokens_per_s_\(name)", rate, "tok/s")
        report("train_peak_memory_\(name)", Double(peak) / 1_048_576.0, "MiB")
        if FileManager.default.isExecutableFile(atPath: python) {
            let out = "\(options.dir)/torch-train-\(name).json"
            let torch = Process()
            torch.executableURL = URL(fileURLWithPath: python)
            torch.arguments = ["scripts/bench_train_torch.py", "--config", torchConfig, "--batch", String(batch), "--context", "256",
                               "--steps", String(steps.1 - steps.0), "--threads", "2"]
            let pipe = Pipe()
            torch.standardOutput = pipe
            try torch.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            torch.waitUntilExit()
            try? output.write(to: URL(fileURLWithPath: out))
            if let line = String(decoding: output, as: UTF8.self).split(separator: "\n").last,
               let result = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let torchRate = (result["tokens_per_s"] as? NSNumber)?.doubleValue {
                report("torch_train_tokens_per_s_\(name)", torchRate, "tok/s")
                report("torch_train_peak_memory_\(name)", (result["peak_rss_mib"] as? NSNumber)?.doubleValue ?? 0, "MiB")
                report("train_\(name)_vs_torch", rate / torchRate, "x")
            }
        }
    }
    try? fm.removeItem(atPath: "\(options.dir)/store-train")
}
if options.only.contains("teacher") {
    // The local fault server (Tests/GenerateTests/fault_teacher.py) answering at once, so the
    // figure is Herd's own cost per request: plan, queue, send, record, take the reply.
    func startServer(_ arguments: [String]) throws -> (Process, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "Tests/GenerateTests/fault_teacher.py"] + arguments
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        return (p, "http://127.0.0.1:\(String(decoding: line, as: UTF8.self))")
    }
    let seeds = "fixtures/self-instruct/seed_tasks.jsonl"
    let (server, endpoint) = try startServer(["--canned"])
    let store = freshStore("store-teacher")
    _ = measure([herd, "ingest", "--store", store, seeds])
    let run = measure([herd, "generate", "instructions", "--store", store, "--prompts", String(options.teacherRequests), "--seed", "1",
                       "--endpoint", endpoint, "--concurrency", "256"])
    server.terminate()
    server.waitUntilExit()
    // Two prompts that drew the same three examples are one request: count what was answered.
    let statusJSON = try generateStatus(store: store)
    let answered = (statusJSON["done"] as? NSNumber)?.doubleValue ?? 0
    report("teacher_requests", answered, "requests")
    report("teacher_requests_per_s", answered / run.seconds, "req/s")
    report("teacher_peak_memory", Double(run.peakBytes) / 1_048_576.0, "MiB")
    try? fm.removeItem(atPath: "\(options.dir)/store-teacher")

    // RPM 600 for two minutes: the server's arrival times give the achieved rate and the most
    // requests any 60-second window saw.
    let log = "\(options.dir)/teacher-rate-log.jsonl"
    try? fm.removeItem(atPath: log)
    let (limited, limitedEndpoint) = try startServer(["--log", log])
    let rateStore = freshStore("store-teacher-rate")
    _ = measure([herd, "ingest", "--store", rateStore, seeds])
    _ = measure([herd, "generate", "instructions", "--store", rateStore, "--prompts", "1201", "--seed", "2",
                 "--endpoint", limitedEndpoint, "--rpm", "600", "--concurrency", "32"])
    limited.terminate()
    limited.waitUntilExit()
    let times = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
        ((try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["t"] as! NSNumber).doubleValue
    }.sorted()
    let inTwoMinutes = times.filter { $0 < times[0] + 120 }.count
    var busiest = 0
    var j = 0
    for i in times.indices {
        while j < times.count, times[j] < times[i] + 60 { j += 1 }
        busiest = max(busiest, j - i)
    }
    report("rate_limit_achieved_rpm", Double(inTwoMinutes) / 2, "req/min")
    report("rate_limit_accuracy", 100 * Double(inTwoMinutes) / 2 / 600, "%")
    report("rate_limit_busiest_60s", Double(busiest), "requests")
    try? fm.removeItem(atPath: "\(options.dir)/store-teacher-rate")
}
if options.only.contains("embed") {
    // MiniLM through the real `herd embed` command (model load and tokenising included), and
    // sentence-transformers on PyTorch CPU on the same texts when `make bench-deps` made its venv
    // (scripts/bench_embed_st.py times encode() alone, after a warm-up).
    let short = "\(options.dir)/embed-short.txt", long = "\(options.dir)/embed-long.txt"
    let words = try generateEmbedTexts(fixtures: "fixtures", short: short, long: long)
    let python = ".venv-bench/bin/python"
    let model = ProcessInfo.processInfo.environment["HERD_MODELS"].map { "\($0)/all-MiniLM-L6-v2" }
        ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/herd/models/all-MiniLM-L6-v2")
    for (name, path, count, averageWords) in [("short", short, 5_000, words.shortWords), ("long", long, 2_000, words.longWords)] {
        report("embed_words_per_text_\(name)", averageWords, "words")
        let run = measure([herd, "embed", "--input", path, "--out", "\(options.dir)/embed-\(name).npy"])
        let rate = Double(count) / run.seconds
        report("embed_sentences_per_s_\(name)", rate, "sentences/s")
        report("embed_peak_memory_\(name)", Double(run.peakBytes) / 1_048_576.0, "MiB")
        guard fm.isExecutableFile(atPath: python) else { continue }
        let json = "\(options.dir)/embed-\(name).st.json"
        _ = measure(["/bin/sh", "-c", "\(python) scripts/bench_embed_st.py --model '\(model)' --texts '\(path)' --threads 2 > '\(json)'"])
        let st = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        let stRate = (st["sentences_per_s"] as! NSNumber).doubleValue
        report("embed_sentence_transformers_sentences_per_s_\(name)", stRate, "sentences/s")
        report("embed_sentence_transformers_peak_memory_\(name)", (st["peak_rss_mib"] as! NSNumber).doubleValue, "MiB")
        report("embed_speed_vs_sentence_transformers_\(name)", rate / stRate, "x")
    }
    // One paper-sized subset sample into a store: 50,000 distinct short instructions (the short
    // set cycled, each numbered so that none is an exact duplicate), `herd embed` as a user runs it.
    let shortLines = try String(contentsOfFile: short, encoding: .utf8).split(separator: "\n")
    var records = ""
    for k in 0..<50_000 {
        let text = "\(k + 1). " + shortLines[k % shortLines.count]
        records += "{\"instruction\":\(String(data: try JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]), encoding: .utf8)!),\"input\":\"\",\"output\":\"\"}\n"
    }
    let storeInput = "\(options.dir)/embed-store-50k.jsonl"
    try records.write(toFile: storeInput, atomically: true, encoding: .utf8)
    let store = freshStore("store-embed")
    _ = measure([herd, "ingest", "--store", store, "--format", "instruction-jsonl", "--subset", "generated_p3", storeInput])
    let run = measure([herd, "embed", "--store", store])
    report("embed_store_seconds_50k", run.seconds, "s")
    report("embed_store_peak_memory_50k", Double(run.peakBytes) / 1_048_576.0, "MiB")
    try? fm.removeItem(atPath: "\(options.dir)/store-embed")
}
if options.only.contains("tsne") {
    // herd project --method auto (Barnes–Hut below 10K points, interpolation from there) on the
    // mixture, and openTSNE with the same settings (perplexity 30, PCA initialisation, 250 early
    // iterations at 12 with momentum 0.5, then 500 at 0.8) when `make bench-deps` installed it,
    // with trustworthiness at k = 10 on a 5K sample of both (scikit-learn's).
    let python = ".venv-bench/bin/python"
    let hasReference = fm.isExecutableFile(atPath: python)
    for n in options.tsneSizes {
        let name = n % 1000 == 0 ? "\(n / 1000)k" : "\(n)"
        let input = "\(options.dir)/tsne-\(n).npy"
        if fileSize(input) == 0 {
            FileHandle.standardError.write(Data("generating \(n) 384-d vectors into \(input) …\n".utf8))
            try generateEmbeddingMixture(path: input, n: n)
        }
        let out = "\(options.dir)/tsne-\(n).herd.npy"
        let json = "\(options.dir)/tsne-\(n).herd.json"
        let run = measure(["/bin/sh", "-c", "'\(herd)' project --input '\(input)' --out '\(out)' --json > '\(json)'"])
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        report("tsne_seconds_\(name)", run.seconds, "s")
        report("tsne_peak_memory_\(name)", Double(run.peakBytes) / 1_048_576.0, "MiB")
        let kl = (result["kl_divergence"] as! NSNumber).doubleValue
        print("tsne_kl_divergence_\(name) \(String(format: "%.4f", kl)) nats")
        guard hasReference else { continue }
        func trustworthiness(_ low: String) throws -> Double {
            let path = "\(options.dir)/tsne-\(n).trust.json"
            _ = measure(["/bin/sh", "-c", "\(python) scripts/trustworthiness.py --high '\(input)' --low '\(low)' --k 10 --sample 5000 > '\(path)'"])
            let t = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            return (t["trustworthiness"] as! NSNumber).doubleValue
        }
        let referenceOut = "\(options.dir)/tsne-\(n).opentsne.npy"
        let referenceJSON = "\(options.dir)/tsne-\(n).opentsne.json"
        _ = measure(["/bin/sh", "-c", "\(python) scripts/bench_tsne_opentsne.py --input '\(input)' --out '\(referenceOut)' --threads 2 --seed 1 --initial-momentum 0.5 > '\(referenceJSON)'"])
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: referenceJSON))) as! [String: Any]
        let referenceSeconds = (reference["seconds"] as! NSNumber).doubleValue
        let referenceKL = (reference["kl"] as! NSNumber).doubleValue
        report("tsne_opentsne_seconds_\(name)", referenceSeconds, "s")
        report("tsne_opentsne_peak_memory_\(name)", (reference["peak_rss_mib"] as! NSNumber).doubleValue, "MiB")
        print("tsne_opentsne_kl_divergence_\(name) \(String(format: "%.4f", referenceKL)) nats")
        report("tsne_speed_vs_opentsne_\(name)", referenceSeconds / run.seconds, "x")
        print("tsne_kl_vs_opentsne_\(name) \(String(format: "%+.2f", 100 * (kl - referenceKL) / referenceKL)) %")
        print("tsne_trustworthiness_\(name) \(String(format: "%.4f", try trustworthiness(out)))")
        print("tsne_opentsne_trustworthiness_\(name) \(String(format: "%.4f", try trustworthiness(referenceOut)))")
    }
}
guard needsCorpus else { exit(0) }
let jsonlStore = freshStore("store-jsonl")
let jsonlRun = measure([herd, "ingest", "--store", jsonlStore, "--subset", "bench", jsonl])
report("ingest_jsonl_seconds", jsonlRun.seconds, "s")
report("ingest_jsonl_mb_per_s", Double(fileSize(jsonl)) / mb / jsonlRun.seconds, "MB/s")
report("ingest_jsonl_peak_memory", Double(jsonlRun.peakBytes) / 1_048_576.0, "MiB")

let arrayStore = freshStore("store-alpaca")
let arrayRun = measure([herd, "ingest", "--store", arrayStore, "--format", "alpaca", array])
report("ingest_alpaca_json_seconds", arrayRun.seconds, "s")
report("ingest_alpaca_json_mb_per_s", Double(fileSize(array)) / mb / arrayRun.seconds, "MB/s")
report("ingest_alpaca_json_peak_memory", Double(arrayRun.peakBytes) / 1_048_576.0, "MiB")
try? fm.removeItem(atPath: "\(options.dir)/store-alpaca")

let statsRun = measure([herd, "stats", "--json", "--store", jsonlStore])
report("stats_seconds", statsRun.seconds, "s")
report("stats_rows_per_s", Double(options.records) / statsRun.seconds, "rows/s")
report("stats_peak_memory", Double(statsRun.peakBytes) / 1_048_576.0, "MiB")

// The report page of the whole store (Table 1, ledger, length histograms; no projection here).
let reportOut = "\(options.dir)/report"
let reportRun = measure([herd, "report", "--store", jsonlStore, reportOut])
report("report_seconds", reportRun.seconds, "s")
report("report_peak_memory", Double(reportRun.peakBytes) / 1_048_576.0, "MiB")

// MB/s is the rows' JSONL bytes (uncompressed) over the whole command, for every format, so the
// figures compare: the same rows exported as JSONL, gzip JSONL, Parquet and zstd Parquet.
var jsonlBytes = 0.0
for (format, compression, name) in [("jsonl", "none", "export"), ("jsonl", "gzip", "export_gzip"),
                                    ("parquet", "none", "export_parquet"), ("parquet", "zstd", "export_parquet_zstd")] {
    let out = "\(options.dir)/export-\(format)-\(compression)"
    try? fm.removeItem(atPath: out)
    let run = measure([herd, "export", "--store", jsonlStore, "--format", format, "--compression", compression, "--seed", "1", out])
    let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/manifest.json"))) as! [String: Any]
    let totals = manifest["totals"] as! [String: Any]
    let uncompressed = (totals["uncompressedBytes"] as? NSNumber)?.doubleValue ?? (totals["uncompressed_bytes"] as? NSNumber)?.doubleValue ?? 0
    if format == "jsonl" { jsonlBytes = uncompressed }
    report("\(name)_seconds", run.seconds, "s")
    report("\(name)_mb_per_s", jsonlBytes / mb / run.seconds, "MB/s")
    report("\(name)_peak_memory", Double(run.peakBytes) / 1_048_576.0, "MiB")
    try? fm.removeItem(atPath: out)
}
