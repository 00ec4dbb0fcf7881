// swift-tools-version:5.9
import PackageDescription

// System libraries are reached through module maps (Sources/C*/module.modulemap);
// `make deps` installs their Debian -dev packages.
let package = Package(
    name: "Herd",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "herd", targets: ["herd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The rating app's HTTP server: small, no SwiftNIO, builds in seconds.
        .package(url: "https://github.com/swhitty/FlyingFox.git", from: "0.27.1"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CArchive", path: "Sources/CArchive"),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .systemLibrary(name: "CFFTW", path: "Sources/CFFTW"),
        // C shims: libcurl's variadic setopt, hardware CRC-32C.
        .target(name: "CCurlShim", path: "Sources/CCurlShim", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "CHerdShims", path: "Sources/CHerdShims",
                cSettings: [.unsafeFlags(["-O3"])]),
        // ggml's CPU arithmetic (quantised dot products, fp16 attention, its exp), so the built-in
        // teacher gives llama.cpp's logits.
        .target(name: "CLlamaKernels", path: "Sources/CLlamaKernels",
                cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),

        // Library modules, one per concern.
        .target(name: "Progress"),
        .target(name: "Sampling"),
        .target(name: "Checksums", dependencies: ["CCrypto", "CHerdShims"]),
        .target(name: "FastJSON"),
        .target(name: "ByteStreams", dependencies: ["CArchive", "Checksums"]),
        .target(name: "TFRecord", dependencies: ["Checksums"]),
        .target(name: "Fetch", dependencies: ["CCurlShim", "Checksums"]),
        .target(name: "Store", dependencies: ["CSQLite", "Checksums"]),
        .target(name: "Ingest", dependencies: ["Progress", "Store", "ByteStreams", "FastJSON", "Checksums", "Fetch", "TFRecord"]),
        .target(name: "Stats", dependencies: ["Store"]),
        .target(name: "Export", dependencies: ["Progress", "Sampling", "Store", "Stats", "FastJSON", "Checksums", "CZlib", "CZstd"]),
        .target(name: "Dedup", dependencies: ["ByteStreams", "FastJSON", "Store"]),
        .target(name: "TOML"),
        .target(name: "Config", dependencies: ["TOML"]),
        .target(name: "Teacher", dependencies: ["CCurlShim", "FastJSON", "Fetch"]),
        .target(name: "Generate", dependencies: ["ByteStreams", "Checksums", "FastJSON", "Fetch", "Ingest", "Progress", "Sampling", "Store", "Teacher"]),
        .target(name: "Topics", dependencies: ["ByteStreams", "Checksums", "FastJSON", "Sampling", "Store"]),
        .target(name: "Project", dependencies: ["Store"]),
        // `herd build`: the recipe's stages over the other modules, planned, priced and resumable.
        .target(name: "Build", dependencies: ["Audit", "Checksums", "Config", "Dedup", "Embed", "Export", "FastJSON", "Fetch", "Generate",
                                              "Ingest", "Llama", "LocalTeacher", "Progress", "Projection", "Report", "Sampling",
                                              "Stats", "Store", "Teacher", "Topics"]),
        .target(name: "Linalg", dependencies: ["COpenBLAS"]),
        .target(name: "ReportPage"),
        .target(name: "LocalTeacher", dependencies: ["Checksums", "FastJSON", "Llama", "Teacher"]),
        .target(name: "ServeApp", dependencies: ["FastJSON", "LocalTeacher", "Teacher", .product(name: "FlyingFox", package: "FlyingFox")]),
        .target(name: "Audit", dependencies: ["FastJSON", "Generate", "Sampling", "Store"]),
        .target(name: "AuditApp", dependencies: ["FastJSON", "Store", .product(name: "FlyingFox", package: "FlyingFox")]),
        .target(name: "Report", dependencies: ["Audit", "FastJSON", "Generate", "ReportPage", "Stats", "Store"]),
        // Numeric modules are optimised in debug builds too, so the reference tests run in seconds.
        .target(name: "Projection", dependencies: ["CFFTW", "Checksums", "COpenBLAS", "Sampling", "Store"],
                swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "Embed", dependencies: ["ByteStreams", "Checksums", "CHerdShims", "COpenBLAS", "FastJSON", "Sampling", "Store"],
                swiftSettings: [.unsafeFlags(["-O"])]),
        // The built-in teacher's engine: GGUF, byte-level BPE, the Llama forward pass.
        .target(name: "Llama", dependencies: ["CLlamaKernels", "COpenBLAS", "Sampling"], swiftSettings: [.unsafeFlags(["-O"])]),
        // The bundled student trainer: the Llama architecture's backward pass, AdamW, shards in, GGUF out.
        .target(name: "Train", dependencies: ["COpenBLAS", "Checksums", "Dedup", "FastJSON", "Llama", "Progress", "Sampling", "ByteStreams", "Export", "TOML"],
                swiftSettings: [.unsafeFlags(["-O"])]),

        // Programs.
        .executableTarget(name: "herd", dependencies: [
            "Store", "Project", "Ingest", "Stats", "Export", "Topics", "Dedup", "Generate", "Progress", "Config", "Teacher", "Embed", "Projection", "Report",
            "Audit", "AuditApp", "Build", "LocalTeacher", "ServeApp", "Train",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "herd-bench", dependencies: ["Sampling"]),

        // Tests, one target per module; EndToEndTests runs the real `herd` binary.
        .testTarget(name: "ChecksumsTests", dependencies: ["Checksums"]),
        .testTarget(name: "FastJSONTests", dependencies: ["FastJSON", "Sampling"]),
        .testTarget(name: "ByteStreamsTests", dependencies: ["ByteStreams"]),
        .testTarget(name: "TFRecordTests", dependencies: ["TFRecord", "Checksums"]),
        .testTarget(name: "FetchTests", dependencies: ["Fetch", "Checksums"], exclude: ["misbehaving_server.py"]),
        .testTarget(name: "StoreTests", dependencies: ["Store"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "Store", "Checksums"]),
        .testTarget(name: "StatsTests", dependencies: ["Sampling", "Stats", "Store"], exclude: ["mattr_reference.json", "reference_mattr.py"]),
        .testTarget(name: "ExportTests", dependencies: ["Export", "Sampling", "Store", "Checksums"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling"]),
        .testTarget(name: "DedupTests", dependencies: ["Dedup", "Sampling", "Store"], exclude: ["make_rouge_reference.py", "rouge_reference.json", "naive_rouge_filter.py"]),
        .testTarget(name: "TOMLTests", dependencies: ["TOML"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "Project", "TOML"]),
        .testTarget(name: "TeacherTests", dependencies: ["Teacher"]),
        // GenerateTests' kill-and-resume test runs the real `herd` binary.
        .testTarget(name: "GenerateTests", dependencies: ["Generate", "FastJSON", "Sampling", "Store", "Teacher", "Checksums"],
                    exclude: ["fault_teacher.py"]),
        .testTarget(name: "TopicsTests", dependencies: ["Topics", "Store", "ByteStreams"]),
        .testTarget(name: "LinalgTests", dependencies: ["Linalg"]),
        .testTarget(name: "EmbedTests", dependencies: ["Embed", "CHerdShims", "Sampling", "Store"],
                    exclude: ["make_tokenizer_reference.py", "tokenizer_reference.json", "make_embed_reference.py",
                              "minilm_reference_texts.json", "minilm_reference.npy", "mpnet_reference_texts.json", "mpnet_reference.npy"]),
        .testTarget(name: "ProjectionTests", dependencies: ["Projection", "Embed", "FastJSON", "Sampling", "Store"],
                    exclude: ["make_tsne_reference.py", "tsne_reference.json", "tsne_reference_input.npy", "tsne_reference_output.npy"]),
        // ReportPageTests render pages in headless Chromium (`make test` installs Debian's chromium).
        .testTarget(name: "ReportPageTests", dependencies: ["ReportPage", "CZlib"]),
        .testTarget(name: "LlamaTests", dependencies: ["Llama", "FastJSON"],
                    exclude: ["make_gguf_reference.py", "gguf_reference.json", "gguf_small.gguf", "smollm2_reference.json"]),
        .testTarget(name: "TrainTests", dependencies: ["Train", "Llama", "FastJSON", "Sampling", "Export", "Checksums"],
                    exclude: ["train_reference.json", "train_reference_init.gguf", "train_reference_after.gguf"]),
        .testTarget(name: "LocalTeacherTests", dependencies: ["LocalTeacher", "ServeApp", "Llama", "Teacher", "FastJSON"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Audit", "FastJSON", "Store"]),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "Generate", "Store"]),
        // AuditAppTests talk to the app over real HTTP and drive its page in headless Chromium.
        .testTarget(name: "AuditAppTests", dependencies: ["AuditApp", "Audit", "FastJSON", "Store"], exclude: ["drive_rating_page.py"]),
        .testTarget(name: "EndToEndTests", dependencies: ["Checksums"]),
        // BuildTests run the real `herd build` against ../GenerateTests/fault_teacher.py.
        .testTarget(name: "BuildTests", dependencies: ["Build", "Config", "Project", "Store", "TOML", "FastJSON"]),
    ]
)
