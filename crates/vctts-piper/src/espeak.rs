//! Phonemes from espeak-ng, run as a separate program.
//!
//! espeak-ng is GPL-3.0; it is never linked into vctts. Spawning it costs about
//! 40 ms here, so each voice keeps a small pool of long-lived processes:
//! `espeak-ng -q --ipa -v VOICE` reads text line by line from stdin and, in that
//! mode, flushes the IPA of every line (one output line per clause) before
//! reading the next. After each clause we send a sentinel line whose IPA we
//! learnt at start-up, so we know where one clause's output ends even when
//! espeak splits it further or prints nothing.
//!
//! Clauses and their punctuation follow piper-phonemize: the text is cut at
//! `. ? ! , : ;`; the clause's IPA is followed by that punctuation mark, plus a
//! space after `, : ;`. Language-switch flags such as `(fr)` are dropped and the
//! IPA is NFD-decomposed.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use parking_lot::Mutex;
use unicode_normalization::UnicodeNormalization;
use vctts_engine::EngineError;

/// The sentinel line: nonsense no normalised text contains.
const SENTINEL: &str = "qxvzqjx";
/// espeak-ng reads stdin lines into a 1000-byte buffer; stay well below.
const MAX_LINE_BYTES: usize = 800;
/// Idle processes kept per voice.
const MAX_IDLE: usize = 4;

/// The espeak-ng program: `VCTTS_ESPEAK` if set, else `espeak-ng` on PATH.
pub fn program() -> PathBuf {
    std::env::var_os("VCTTS_ESPEAK").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or("espeak-ng".into())
}

struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    signature: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn spawn(voice: &str) -> Result<Self, EngineError> {
        let prog = program();
        let mut child = Command::new(&prog)
            .args(["-q", "--ipa", "-v", voice])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                EngineError::Runtime(format!(
                    "cannot run {} ({e}); install espeak-ng (scripts/setup.sh does it with apt) or set VCTTS_ESPEAK",
                    prog.display()
                ))
            })?;
        let stdin = child.stdin.take().ok_or_else(|| EngineError::Internal("espeak-ng stdin".into()))?;
        let stdout =
            BufReader::new(child.stdout.take().ok_or_else(|| EngineError::Internal("espeak-ng stdout".into()))?);
        let mut p = Proc { child, stdin, stdout, signature: String::new() };
        // Learn the sentinel's IPA (and check that the voice exists: espeak-ng
        // exits at once when it does not).
        p.write_line(SENTINEL).map_err(|_| bad_voice(voice))?;
        let sig = loop {
            let line = p.read_line().map_err(|_| bad_voice(voice))?;
            if !line.trim().is_empty() {
                break line;
            }
        };
        p.signature = sig;
        Ok(p)
    }

    fn write_line(&mut self, s: &str) -> std::io::Result<()> {
        self.stdin.write_all(s.as_bytes())?;
        self.stdin.write_all(b"\n")?;
        self.stdin.flush()
    }

    fn read_line(&mut self) -> std::io::Result<String> {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "espeak-ng exited"));
        }
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }

    /// IPA of each line in `lines` (each one clause without terminator).
    fn phonemize(&mut self, lines: &[String]) -> std::io::Result<Vec<String>> {
        // Our input is small (a sentence), far below the pipe buffers, so
        // writing everything before reading cannot deadlock.
        let mut batch = String::new();
        for l in lines {
            batch.push_str(l);
            batch.push('\n');
            batch.push_str(SENTINEL);
            batch.push('\n');
        }
        self.stdin.write_all(batch.as_bytes())?;
        self.stdin.flush()?;
        let mut out = Vec::with_capacity(lines.len());
        for _ in lines {
            let mut parts: Vec<String> = Vec::new();
            loop {
                let line = self.read_line()?;
                if line == self.signature {
                    break;
                }
                if !line.trim().is_empty() {
                    parts.push(line.trim().to_string());
                }
            }
            out.push(parts.join(" "));
        }
        Ok(out)
    }
}

/// Every name `espeak-ng -v` accepts (languages, voice names, voice files),
/// lower-cased; None when the list cannot be read.
fn known_voices() -> Option<std::collections::HashSet<String>> {
    let out = Command::new(program()).arg("--voices").stderr(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut names = std::collections::HashSet::new();
    // Columns: Pty Language Age/Gender VoiceName File Other-languages
    for line in String::from_utf8_lossy(&out.stdout).lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 5 {
            continue;
        }
        names.insert(cols[1].to_ascii_lowercase());
        names.insert(cols[3].to_ascii_lowercase());
        names.insert(cols[4].to_ascii_lowercase());
        if let Some(file) = cols[4].rsplit('/').next() {
            names.insert(file.to_ascii_lowercase());
        }
    }
    Some(names).filter(|n| !n.is_empty())
}

fn bad_voice(voice: &str) -> EngineError {
    EngineError::ModelFiles(format!(
        "espeak-ng does not start with voice `{voice}` (the voice config's espeak.voice); check `espeak-ng --voices`"
    ))
}

/// A pool of espeak-ng processes for one espeak voice.
pub struct Espeak {
    voice: String,
    idle: Mutex<Vec<Proc>>,
}

/// One clause: its text and the punctuation that ended it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub text: String,
    pub terminator: Option<char>,
}

fn is_clause_terminator(c: char) -> bool {
    matches!(c, '.' | '?' | '!' | ',' | ':' | ';')
}

/// Cut `text` into clauses at `. ? ! , : ;` followed by whitespace or the end,
/// as espeak-ng does (a period inside `3.5` or `a.b` does not end a clause).
pub fn split_clauses(text: &str) -> Vec<Clause> {
    let chars: Vec<char> = text.chars().map(|c| if c.is_whitespace() { ' ' } else { c }).collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at_boundary = chars.get(i + 1).is_none_or(|n| *n == ' ' || is_clause_terminator(*n) || is_closing(*n));
        if is_clause_terminator(c) && at_boundary {
            // A run like "?!" or "..." ends the clause once; the first mark wins,
            // except that a sentence mark beats a comma-like one.
            let mut term = c;
            let mut j = i + 1;
            while j < chars.len() && (is_clause_terminator(chars[j]) || is_closing(chars[j])) {
                if matches!(chars[j], '.' | '?' | '!') && matches!(term, ',' | ':' | ';') {
                    term = chars[j];
                }
                if is_closing(chars[j]) {
                    cur.push(chars[j]);
                }
                j += 1;
            }
            push_clause(&mut out, &mut cur, Some(term));
            i = j;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    push_clause(&mut out, &mut cur, None);
    out
}

fn is_closing(c: char) -> bool {
    matches!(c, '"' | '\'' | ')' | ']' | '”' | '’' | '»')
}

fn push_clause(out: &mut Vec<Clause>, cur: &mut String, terminator: Option<char>) {
    let t = cur.split_whitespace().collect::<Vec<_>>().join(" ");
    cur.clear();
    if t.chars().any(|c| c.is_alphanumeric()) {
        out.push(Clause { text: t, terminator });
    } else if let (Some(last), Some(term)) = (out.last_mut(), terminator) {
        // Punctuation with nothing to say ("Wait ... !"): the stronger mark wins.
        if matches!(term, '.' | '?' | '!') {
            last.terminator = Some(term);
        }
    }
}

/// Break a clause that is too long for one espeak-ng input line at spaces.
fn line_pieces(text: &str) -> Vec<String> {
    if text.len() <= MAX_LINE_BYTES {
        return vec![text.to_string()];
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    for w in text.split(' ') {
        if !cur.is_empty() && cur.len() + 1 + w.len() > MAX_LINE_BYTES {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        // A single "word" longer than a line (no spaces at all) is cut on a char boundary.
        let mut w = w;
        while w.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !w.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push(w[..cut].to_string());
            w = &w[cut..];
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Drop `(xx)` language-switch flags, as piper-phonemize does.
fn strip_language_flags(ipa: &str) -> String {
    let mut out = String::with_capacity(ipa.len());
    let mut depth = 0;
    for c in ipa.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

impl Espeak {
    /// Start one process to check that espeak-ng runs with `voice`.
    pub fn new(voice: &str) -> Result<Self, EngineError> {
        let p = Proc::spawn(voice)?;
        // espeak-ng quietly falls back to another voice for a name it does not
        // know; check the name against its list.
        if let Some(known) = known_voices() {
            let base = voice.split('+').next().unwrap_or(voice).to_ascii_lowercase();
            if !known.contains(&base) {
                return Err(bad_voice(voice));
            }
        }
        Ok(Self { voice: voice.to_string(), idle: Mutex::new(vec![p]) })
    }

    pub fn voice(&self) -> &str {
        &self.voice
    }

    /// The phonemes of `text` (one sentence), clause punctuation included, as
    /// the voice's phoneme characters.
    pub fn phonemes(&self, text: &str) -> Result<Vec<char>, EngineError> {
        let clauses = split_clauses(&text.replace(SENTINEL, " "));
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let mut lines = Vec::new();
        let mut owner = Vec::new();
        for (i, c) in clauses.iter().enumerate() {
            for piece in line_pieces(&c.text) {
                lines.push(piece);
                owner.push(i);
            }
        }
        let ipa = self.run(&lines)?;
        let mut per_clause = vec![String::new(); clauses.len()];
        for (i, s) in owner.into_iter().zip(ipa) {
            if !s.is_empty() {
                if !per_clause[i].is_empty() {
                    per_clause[i].push(' ');
                }
                per_clause[i].push_str(&s);
            }
        }
        let mut out = Vec::new();
        for (c, ipa) in clauses.iter().zip(per_clause) {
            let ipa = strip_language_flags(&ipa);
            let ipa = ipa.trim();
            if ipa.is_empty() {
                continue;
            }
            out.extend(ipa.nfd());
            match c.terminator {
                Some(t @ ('.' | '?' | '!')) => out.push(t),
                Some(t @ (',' | ':' | ';')) => {
                    out.push(t);
                    out.push(' ');
                }
                _ => {}
            }
        }
        // A trailing space after a final comma carries nothing.
        while out.last() == Some(&' ') {
            out.pop();
        }
        Ok(out)
    }

    fn run(&self, lines: &[String]) -> Result<Vec<String>, EngineError> {
        let popped = self.idle.lock().pop();
        let mut p = match popped {
            Some(p) => p,
            None => Proc::spawn(&self.voice)?,
        };
        match p.phonemize(lines) {
            Ok(out) => {
                let mut idle = self.idle.lock();
                if idle.len() < MAX_IDLE {
                    idle.push(p);
                }
                Ok(out)
            }
            Err(e) => {
                // The process is in an unknown state: drop it, try once with a fresh one.
                drop(p);
                tracing::warn!(error = %e, "espeak-ng failed; restarting it");
                let mut p = Proc::spawn(&self.voice)?;
                let out =
                    p.phonemize(lines).map_err(|e| EngineError::Runtime(format!("espeak-ng failed twice: {e}")))?;
                self.idle.lock().push(p);
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(t: &str, term: Option<char>) -> Clause {
        Clause { text: t.into(), terminator: term }
    }

    #[test]
    fn clauses_follow_espeak_punctuation() {
        assert_eq!(
            split_clauses("Hello, world: it is 3.5 here; really? Yes!"),
            [
                clause("Hello", Some(',')),
                clause("world", Some(':')),
                clause("it is 3.5 here", Some(';')),
                clause("really", Some('?')),
                clause("Yes", Some('!')),
            ]
        );
        assert_eq!(split_clauses("No end"), [clause("No end", None)]);
        assert_eq!(split_clauses("Wait... what?!"), [clause("Wait", Some('.')), clause("what", Some('?'))]);
        assert_eq!(
            split_clauses("He said \"stop.\" Then"),
            [clause("He said \"stop\"", Some('.')), clause("Then", None)]
        );
        assert_eq!(split_clauses("Hi , !"), [clause("Hi", Some('!'))]);
        assert!(split_clauses(" ... ").is_empty());
    }

    #[test]
    fn long_clauses_become_several_lines() {
        let long = "word ".repeat(400);
        let pieces = line_pieces(long.trim());
        assert!(pieces.len() >= 2);
        assert!(pieces.iter().all(|p| p.len() <= MAX_LINE_BYTES));
        assert_eq!(pieces.join(" "), long.trim());
        let blob = "é".repeat(1000);
        assert!(line_pieces(&blob).iter().all(|p| p.len() <= MAX_LINE_BYTES && !p.is_empty()));
    }

    #[test]
    fn language_flags_are_removed() {
        assert_eq!(strip_language_flags("ðə (fr)kafe(en) ɪz"), "ðə kafe ɪz");
    }
}
