/// The store's schema, as numbered migrations. A migration is never edited after it lands:
/// schema changes are new entries at the end. `PRAGMA user_version` records how many ran.
public enum Migrations {
    public static let all: [(version: Int, name: String, sql: String)] = [
        (1, "sources, subsets, instructions, bad records", """
        -- One row per ingested file or download, keyed by the sha256 of its bytes as read
        -- (a compressed file or archive is hashed as it is on disk).
        CREATE TABLE sources (
            id          INTEGER PRIMARY KEY,
            uri         TEXT    NOT NULL,           -- path as given, or URL without credentials
            sha256      TEXT    NOT NULL UNIQUE,
            bytes       INTEGER NOT NULL,
            format      TEXT    NOT NULL,           -- alpaca, self-instruct, p3, flan, ...
            records     INTEGER NOT NULL DEFAULT 0, -- instructions added
            duplicates  INTEGER NOT NULL DEFAULT 0, -- of those, exact duplicates of an earlier one
            skipped     INTEGER NOT NULL DEFAULT 0, -- malformed records skipped under --skip-bad
            filtered    INTEGER NOT NULL DEFAULT 0  -- records a format rule leaves out (P3 wrong answer choices)
        );

        -- Subsets follow LaMini-instruction's instruction_source names. Seed subsets feed
        -- generation and are not exported by default.
        CREATE TABLE subsets (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('corpus', 'seed'))
        ) WITHOUT ROWID;

        -- Every instruction in corpus order (id), with its provenance.
        CREATE TABLE instructions (
            id           INTEGER PRIMARY KEY,
            subset       TEXT    NOT NULL REFERENCES subsets(name),
            source_id    INTEGER NOT NULL REFERENCES sources(id),
            member       TEXT,                      -- path inside an archive or folder; NULL for a plain file
            line         INTEGER,                   -- 1-based line where the record starts (text formats)
            record       INTEGER NOT NULL,          -- 1-based record number within the member
            byte_offset  INTEGER NOT NULL,          -- where the record starts in the (decompressed) member
            task         TEXT,                      -- P3/FLAN task or Self-Instruct task name
            instruction  TEXT    NOT NULL,
            input        TEXT    NOT NULL DEFAULT '',
            output       TEXT,                      -- the source's own response, NULL when it has none
            meta         TEXT,                      -- JSON object of format-specific fields
            norm_hash    INTEGER NOT NULL,          -- first 8 bytes of sha256 of the normalised instruction and input
            duplicate_of INTEGER REFERENCES instructions(id)  -- first occurrence when this is an exact duplicate
        );
        CREATE INDEX instructions_by_subset ON instructions(subset, id);
        CREATE INDEX instructions_first_by_hash ON instructions(norm_hash) WHERE duplicate_of IS NULL;

        -- Records skipped under --skip-bad, with what was wrong.
        CREATE TABLE bad_records (
            id          INTEGER PRIMARY KEY,
            source_id   INTEGER NOT NULL REFERENCES sources(id),
            member      TEXT,
            line        INTEGER,
            byte_offset INTEGER,
            message     TEXT    NOT NULL
        );
        """),
        (2, "topics mined from Wikipedia category dumps", """
        -- One row per `herd topics mine` that landed. The newest is the one `categories` holds.
        CREATE TABLE topic_minings (
            id                INTEGER PRIMARY KEY,
            category_uri      TEXT    NOT NULL,
            category_sha256   TEXT    NOT NULL,
            category_bytes    INTEGER NOT NULL,
            page_uri          TEXT,                 -- the page and page_props dumps, when given
            page_sha256       TEXT,
            page_props_uri    TEXT,
            page_props_sha256 TEXT,
            rules             TEXT    NOT NULL,     -- JSON: thresholds, what "pages" counts, patterns
            categories        INTEGER NOT NULL,     -- rows read
            topics            INTEGER NOT NULL,     -- rows kept
            dropped_words     INTEGER NOT NULL,     -- first reason counts; they add up with topics to categories
            dropped_subcats   INTEGER NOT NULL,
            dropped_pages     INTEGER NOT NULL,
            dropped_hidden    INTEGER NOT NULL,
            dropped_pattern   INTEGER NOT NULL,
            hidden_known      INTEGER NOT NULL,     -- hidden categories named by page_props (or cat_hidden)
            bad_rows          INTEGER NOT NULL      -- malformed rows skipped under --skip-bad
        );

        -- Every category of the latest mining, in dump order, with the first rule that dropped it.
        CREATE TABLE categories (
            id       INTEGER PRIMARY KEY,           -- 1-based position in the dump
            cat_id   INTEGER NOT NULL,
            title    TEXT    NOT NULL,              -- with spaces, as people read it
            pages    INTEGER NOT NULL,              -- cat_pages: every member, subcategories and files included
            subcats  INTEGER NOT NULL,
            files    INTEGER NOT NULL,
            hidden   INTEGER NOT NULL,              -- 1 when the dumps mark it hidden
            -- NULL: a topic. (Equalities, not IN: an IN list costs SQLite a temporary b-tree per row.)
            dropped  TEXT CHECK (dropped = 'words' OR dropped = 'subcats' OR dropped = 'pages' OR dropped = 'hidden'
                                 OR dropped = 'pattern'),
            pattern  TEXT                           -- the name pattern that dropped it
        );
        CREATE INDEX categories_topics ON categories(id) WHERE dropped IS NULL;

        -- Rows of the latest mining's dumps skipped under --skip-bad.
        CREATE TABLE topic_bad_rows (
            id          INTEGER PRIMARY KEY,
            dump        TEXT    NOT NULL,           -- category, page or page_props
            byte_offset INTEGER NOT NULL,
            message     TEXT    NOT NULL
        );
        """),
        (3, "ROUGE-L novelty verdicts", """
        -- The settings the verdicts in `novelty` were made with (one row; other settings start over).
        CREATE TABLE novelty_settings (
            id           INTEGER PRIMARY KEY CHECK (id = 1),
            threshold    REAL    NOT NULL,          -- drop when F1 > threshold (>= with strict_below)
            strict_below INTEGER NOT NULL,          -- 1: Lion's variant, kept only when F1 < threshold
            stem         INTEGER NOT NULL,          -- 1: rouge_score's use_stemmer=True
            scope        TEXT    NOT NULL CHECK (scope = 'all' OR scope = 'subset'),
            report_floor REAL    NOT NULL           -- best matches are exact from this score up
        );

        -- One verdict per instruction, in the order the filter visited them (seed subsets first,
        -- then the rest in corpus order).
        CREATE TABLE novelty (
            instruction_id INTEGER PRIMARY KEY REFERENCES instructions(id),
            visit          INTEGER NOT NULL UNIQUE, -- 1-based position in the visiting order
            kept           INTEGER NOT NULL,
            best_id        INTEGER REFERENCES instructions(id), -- most similar kept instruction before it
            score          REAL    NOT NULL         -- ROUGE-L F1 with best_id (0 when none)
        );
        """),
        (4, "teacher requests", """
        -- Every request to a teacher, written before it is sent (or exported to a batch file) and
        -- keyed by the sha256 of its endpoint and body: a key that is done is never sent again.
        CREATE TABLE teacher_requests (
            id                INTEGER PRIMARY KEY,
            key               TEXT    NOT NULL UNIQUE, -- sha256 of endpoint, newline, request body
            stage             TEXT    NOT NULL CHECK (stage = 'instructions' OR stage = 'responses'),
            subset            TEXT    NOT NULL,        -- where the results go
            prompt_number     INTEGER,                 -- instructions: the prompt's number in its plan
            instruction_id    INTEGER REFERENCES instructions(id), -- responses: the instruction answered
            endpoint          TEXT    NOT NULL,
            model             TEXT    NOT NULL,
            body              TEXT    NOT NULL,        -- the chat-completions request body as sent
            status            TEXT    NOT NULL CHECK (status = 'pending' OR status = 'in_flight' OR status = 'done'
                                                      OR status = 'failed'),
            attempts          INTEGER NOT NULL DEFAULT 0,
            reply             TEXT,                    -- the raw reply body
            content           TEXT,                    -- the message content of the reply
            finish_reason     TEXT,
            prompt_tokens     INTEGER,
            completion_tokens INTEGER,
            error             TEXT,                    -- why it failed (the server's message)
            batch_file        TEXT                     -- the batch input file it was last written to
        );
        CREATE INDEX teacher_requests_by_status ON teacher_requests(status, id);
        """),
        (5, "teacher spend, generated instructions taken, responses", """
        -- What a request cost at the configured prices (NULL when the model has no price), and for
        -- generation requests how many instructions its reply gave the store (NULL until taken:
        -- replies are taken in request order, whatever order they arrived in).
        ALTER TABLE teacher_requests ADD COLUMN cost_usd REAL;
        ALTER TABLE teacher_requests ADD COLUMN results INTEGER;
        CREATE INDEX teacher_requests_to_take ON teacher_requests(stage, subset, id) WHERE results IS NULL;

        -- A teacher's response to an instruction, one per instruction and model.
        CREATE TABLE responses (
            instruction_id INTEGER NOT NULL REFERENCES instructions(id),
            model          TEXT    NOT NULL,
            request_id     INTEGER NOT NULL REFERENCES teacher_requests(id),
            response       TEXT    NOT NULL,
            finish_reason  TEXT,
            PRIMARY KEY (instruction_id, model)
        ) WITHOUT ROWID;
        """),
        (6, "sentence embeddings", """
        -- A sentence encoder, by its folder name and the sha256 of its model.safetensors: vectors
        -- of different weights are never mixed.
        CREATE TABLE embedding_models (
            id        INTEGER PRIMARY KEY,
            name      TEXT    NOT NULL,             -- all-MiniLM-L6-v2, all-mpnet-base-v2, ...
            sha256    TEXT    NOT NULL,
            dimension INTEGER NOT NULL,
            UNIQUE (name, sha256)
        );

        -- One vector per instruction, model and embedded field (the instruction as exported, or
        -- its response), little-endian float32 or float16 values.
        CREATE TABLE embeddings (
            model_id       INTEGER NOT NULL REFERENCES embedding_models(id),
            field          TEXT    NOT NULL CHECK (field IN ('instruction', 'response')),
            instruction_id INTEGER NOT NULL REFERENCES instructions(id),
            dtype          TEXT    NOT NULL CHECK (dtype IN ('float32', 'float16')),
            vector         BLOB    NOT NULL,
            PRIMARY KEY (model_id, field, instruction_id)
        ) WITHOUT ROWID;
        """),
        (7, "t-SNE projections", """
        -- A 2-D projection of one model's vectors of one field: the settings it ran with (JSON,
        -- keys sorted), the sha256 of its input (ids and vectors in order), and its KL divergence.
        -- The same settings on the same input are computed once.
        CREATE TABLE projections (
            id            INTEGER PRIMARY KEY,
            model_id      INTEGER NOT NULL REFERENCES embedding_models(id),
            field         TEXT    NOT NULL,
            settings      TEXT    NOT NULL,
            input_sha256  TEXT    NOT NULL,
            points        INTEGER NOT NULL,
            kl_divergence REAL    NOT NULL,
            UNIQUE (model_id, field, settings, input_sha256)
        );

        CREATE TABLE projection_points (
            projection_id  INTEGER NOT NULL REFERENCES projections(id),
            instruction_id INTEGER NOT NULL REFERENCES instructions(id),
            x              REAL    NOT NULL,
            y              REAL    NOT NULL,
            PRIMARY KEY (projection_id, instruction_id)
        ) WITHOUT ROWID;
        """),
        (8, "quality audit: judge requests, sampled pairs and ratings", """
        -- Judge requests (stage 'judge') join the teacher queue. SQLite cannot change a CHECK
        -- constraint, so the table is rebuilt: the same columns in the same order, rows and ids.
        CREATE TABLE teacher_requests_v8 (
            id                INTEGER PRIMARY KEY,
            key               TEXT    NOT NULL UNIQUE,
            stage             TEXT    NOT NULL CHECK (stage IN ('instructions', 'responses', 'judge')),
            subset            TEXT    NOT NULL,
            prompt_number     INTEGER,
            instruction_id    INTEGER REFERENCES instructions(id), -- responses and judge: the instruction
            endpoint          TEXT    NOT NULL,
            model             TEXT    NOT NULL,
            body              TEXT    NOT NULL,
            status            TEXT    NOT NULL CHECK (status = 'pending' OR status = 'in_flight' OR status = 'done'
                                                      OR status = 'failed'),
            attempts          INTEGER NOT NULL DEFAULT 0,
            reply             TEXT,
            content           TEXT,
            finish_reason     TEXT,
            prompt_tokens     INTEGER,
            completion_tokens INTEGER,
            error             TEXT,
            batch_file        TEXT,
            cost_usd          REAL,
            results           INTEGER
        );
        INSERT INTO teacher_requests_v8 SELECT id, key, stage, subset, prompt_number, instruction_id, endpoint, model, body,
            status, attempts, reply, content, finish_reason, prompt_tokens, completion_tokens, error, batch_file, cost_usd, results
            FROM teacher_requests;
        DROP TABLE teacher_requests;
        ALTER TABLE teacher_requests_v8 RENAME TO teacher_requests;
        CREATE INDEX teacher_requests_by_status ON teacher_requests(status, id);
        CREATE INDEX teacher_requests_to_take ON teacher_requests(stage, subset, id) WHERE results IS NULL;

        -- The pairs drawn for rating (`herd audit sample`): per_subset pairs of each corpus subset
        -- with a response, by a keyed hash of the seed; shown to reviewers in position order.
        CREATE TABLE audit_sample (
            id         INTEGER PRIMARY KEY CHECK (id = 1),
            seed       INTEGER NOT NULL,
            per_subset INTEGER NOT NULL
        );
        CREATE TABLE audit_pairs (
            position       INTEGER PRIMARY KEY,
            instruction_id INTEGER NOT NULL UNIQUE REFERENCES instructions(id)
        );

        -- A grade of one pair by one rater: a person (kind 'human', rater the reviewer's name) or
        -- a judge model (kind 'judge', rater the model, request_id its teacher request; grade NULL
        -- when its reply named no grade). A: valid and acceptable; B: minor errors; C: significant
        -- errors; D: invalid.
        CREATE TABLE ratings (
            instruction_id INTEGER NOT NULL REFERENCES instructions(id),
            kind           TEXT    NOT NULL CHECK (kind IN ('human', 'judge')),
            rater          TEXT    NOT NULL,
            grade          TEXT    CHECK (grade IN ('A', 'B', 'C', 'D')),
            note           TEXT    NOT NULL DEFAULT '',
            request_id     INTEGER REFERENCES teacher_requests(id),
            PRIMARY KEY (instruction_id, kind, rater)
        ) WITHOUT ROWID;
        """),
        (9, "training runs and their curves", """
        -- A student training run (`herd train --record`): its name (the run folder's) and folder.
        CREATE TABLE training_runs (
            name      TEXT PRIMARY KEY,
            directory TEXT NOT NULL
        ) WITHOUT ROWID;
        -- Its metrics.jsonl: the train loss of every step and the validation loss (and ROUGE-L
        -- of greedy answers) of every evaluation.
        CREATE TABLE training_points (
            run     TEXT    NOT NULL REFERENCES training_runs(name),
            step    INTEGER NOT NULL,
            split   TEXT    NOT NULL CHECK (split IN ('train', 'validation')),
            loss    REAL    NOT NULL,
            rouge_l REAL,
            PRIMARY KEY (run, split, step)
        ) WITHOUT ROWID;
        """),
        (10, "build stages", """
        -- The stages `herd build` finished, each with the fingerprint of its settings and of the
        -- store it left (chained through the stages before it): a stage whose fingerprint still
        -- matches is skipped, so a finished build costs a few queries to confirm.
        CREATE TABLE build_stages (
            stage       TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL
        ) WITHOUT ROWID;
        """),
    ]

    /// The whole schema as one SQL script (what `schemas/store.sql` holds).
    public static var schemaSQL: String {
        var out = "-- Herd store schema: the numbered migrations of Sources/Store/Migrations.swift, in order.\n"
        out += "-- Generated; do not edit. The database records how many ran in PRAGMA user_version.\n"
        for m in all {
            out += "\n-- Migration \(m.version): \(m.name)\n\(m.sql)\nPRAGMA user_version = \(m.version);\n"
        }
        return out
    }
}
