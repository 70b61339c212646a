//! Segmentation, pinyin, polyphone rules, prosody and tone sandhi.

use crate::dict::{char_readings, is_word, JIEBA, PHRASES};
use crate::normalize::normalize;
use crate::{is_han, Boundary, Pause, Segment, Syllable};

/// One reading: TONE3 pinyin and whether a phrase entry fixed it (rules leave those alone).
#[derive(Debug, Clone)]
struct Py {
    s: String,
    locked: bool,
    /// Spoken with the neutral tone (the dictionary tone stays in `s`).
    neutral: bool,
}

#[derive(Debug)]
struct Word {
    chars: Vec<char>,
    tag: String,
    py: Vec<Option<Py>>,
}

impl Word {
    fn text(&self) -> String {
        self.chars.iter().collect()
    }
    fn is(&self, w: &str) -> bool {
        self.chars.iter().copied().eq(w.chars())
    }
    /// Set a reading even where the phrase dictionary fixed it.
    fn set_any(&mut self, k: usize, s: &str) {
        if let Some(Some(p)) = self.py.get_mut(k) {
            p.s = s.to_string();
        }
    }
    fn set(&mut self, k: usize, s: &str) {
        if let Some(Some(p)) = self.py.get_mut(k) {
            if !p.locked {
                p.s = s.to_string();
            }
        }
    }
}

/// Words ending in 儿 that keep it as a full syllable (no erhua).
const NOT_ERHUA: &[&str] = &[
    "女儿",
    "婴儿",
    "孤儿",
    "幼儿",
    "健儿",
    "少儿",
    "胎儿",
    "男儿",
    "孙儿",
    "宠儿",
    "新生儿",
    "混血儿",
    "低能儿",
    "弄潮儿",
    "妻儿",
    "侄儿",
    "犬儿",
    "育儿",
    "托儿",
    "产儿",
    "患儿",
    "畸形儿",
    "私生儿",
    "小儿",
];

const NUMERALS: &str = "零〇一二三四五六七八九十百千万亿两幺几";
const DIGIT_CHARS: &str = "零〇一二三四五六七八九幺";

/// Particles and suffixes that attach to the word before them (prosodically).
const CLITICS: &[&str] = &[
    "的", "了", "着", "过", "们", "吗", "呢", "吧", "啊", "地", "得", "么", "嘛", "啦", "呀", "哦", "呗", "似的", "之",
];

/// Readings of characters when they stand alone as a word (the dictionary's default is
/// the reading inside compounds).
const STANDALONE: &[(char, &str)] = &[
    ('长', "chang2"),
    ('得', "de5"),
    ('削', "xiao1"),
    ('谁', "shei2"),
    ('弹', "tan2"),
    ('切', "qie1"),
    ('教', "jiao1"),
    ('喽', "lou5"),
    ('咯', "lo5"),
    ('似', "si4"),
    ('尽', "jin4"),
    ('佛', "fo2"),
    ('的', "de5"),
    ('了', "le5"),
    ('着', "zhe5"),
    ('吗', "ma5"),
    ('呢', "ne5"),
    ('吧', "ba5"),
    ('啊', "a5"),
    ('么', "me5"),
    ('嘛', "ma5"),
    ('啦', "la5"),
    ('呀', "ya5"),
    ('给', "gei3"),
    ('那', "na4"),
    ('哪', "na3"),
    ('还', "hai2"),
    ('都', "dou1"),
    ('和', "he2"),
    ('为', "wei4"),
    ('行', "xing2"),
    ('重', "zhong4"),
    ('觉', "jue2"),
    ('差', "cha4"),
    ('只', "zhi3"),
    ('种', "zhong3"),
    ('数', "shu4"),
    ('干', "gan4"),
    ('量', "liang2"),
    ('地', "di4"),
    ('嗯', "en4"),
];

fn readings_of(word: &str) -> Vec<Option<Py>> {
    let chars: Vec<char> = word.chars().collect();
    let phrases = &*PHRASES;
    if chars.len() > 1 {
        if let Some(r) = phrases.map.get(word) {
            return r.iter().map(|s| Some(Py { s: s.to_string(), locked: true, neutral: false })).collect();
        }
    }
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    let mut buf = String::new();
    'outer: while i < chars.len() {
        for n in (2..=phrases.max_chars.min(chars.len() - i)).rev() {
            if n == chars.len() {
                continue; // the whole word was looked up above
            }
            buf.clear();
            buf.extend(&chars[i..i + n]);
            if let Some(r) = phrases.map.get(buf.as_str()) {
                out.extend(r.iter().map(|s| Some(Py { s: s.to_string(), locked: true, neutral: false })));
                i += n;
                continue 'outer;
            }
        }
        out.push(char_readings(chars[i]).and_then(|r| r.first()).map(|s| Py {
            s: s.to_string(),
            locked: false,
            neutral: false,
        }));
        i += 1;
    }
    out
}

fn tone_of(s: &str) -> u8 {
    s.bytes().last().filter(u8::is_ascii_digit).map(|b| b - b'0').unwrap_or(5)
}

fn base_of(s: &str) -> &str {
    s.trim_end_matches(|c: char| c.is_ascii_digit())
}

fn first_char(w: Option<&Word>) -> Option<char> {
    w.and_then(|w| w.chars.first().copied())
}

fn last_char(w: Option<&Word>) -> Option<char> {
    w.and_then(|w| w.chars.last().copied())
}

/// Context rules for polyphonic characters that the phrase dictionary did not settle.
fn resolve_polyphones(words: &mut [Word]) {
    for i in 0..words.len() {
        let (before, rest) = words.split_at_mut(i);
        let (cur, after) = rest.split_first_mut().expect("index in range");
        let prev = before.last();
        let next = after.first();
        let pc = last_char(prev);
        let nc = first_char(next);
        let prev_text = prev.map(|w| w.text()).unwrap_or_default();
        let next_text = next.map(|w| w.text()).unwrap_or_default();
        let in_set = |c: Option<char>, set: &str| c.is_some_and(|c| set.contains(c));

        if cur.chars.len() == 1 {
            let c = cur.chars[0];
            if let Some((_, r)) = STANDALONE.iter().find(|(x, _)| *x == c) {
                cur.set(0, r);
            }
            match c {
                '得' => {
                    let subjects = ["我", "你", "他", "她", "它", "我们", "你们", "他们", "她们", "咱们", "大家", "谁"];
                    let adverbs = ["就", "还", "也", "都", "总", "可", "又", "必须", "一定", "总是", "还是", "真"];
                    let at_start = prev.is_none();
                    if (at_start || subjects.contains(&prev_text.as_str()) || adverbs.contains(&prev_text.as_str()))
                        && next.is_some()
                        && !in_set(nc, "了到很不出住")
                    {
                        cur.set(0, "dei3");
                    }
                }
                '地' => {
                    let adverbial = prev.is_some_and(adverbial);
                    let subject_like = prev.is_some_and(|p| p.tag.starts_with('n') || p.tag.starts_with('r'));
                    if adverbial && next.is_some() && !subject_like {
                        cur.set(0, "de5");
                    }
                }
                '长' => {
                    let degree =
                        ["很", "太", "多", "好", "这么", "那么", "真", "特别", "非常", "比较", "最", "更", "越", "挺"];
                    if !degree.contains(&prev_text.as_str()) && in_set(nc, "得大高胖出成满肉相") {
                        cur.set(0, "zhang3");
                    }
                }
                '还' if in_set(nc, "钱债书给清款贷") => cur.set(0, "huan2"),
                '行' if in_set(pc, NUMERALS) || in_set(pc, "每") => cur.set(0, "hang2"),
                '重' if in_set(nc, "新复来写做装建逢启试播修申游返叠") => cur.set(0, "chong2"),
                '觉' if in_set(pc, "一个午睡好大") => cur.set(0, "jiao4"),
                '为' if in_set(pc, "成认作以称视选评定改变化分转列被")
                    || (in_set(nc, NUMERALS) && nc != Some('一'))
                    || in_set(nc, "百")
                    || (next.is_none() && prev.is_some_and(|p| p.tag.starts_with('n'))) =>
                {
                    cur.set(0, "wei2")
                }
                '只' if (in_set(pc, NUMERALS) || in_set(pc, "这那哪每某"))
                    && !in_set(nc, "是有要能会好想不在用剩需得") =>
                {
                    cur.set(0, "zhi1")
                }
                '种' if !(in_set(pc, NUMERALS) || in_set(pc, "这那哪每各多某"))
                    && next.is_some_and(|n| n.tag.starts_with('n')) =>
                {
                    cur.set(0, "zhong4")
                }
                '数' if in_set(nc, "一钱数不到着了") => cur.set(0, "shu3"),
                '干' if in_set(pc, "很太真挺晒擦吹烘弄烤")
                    || (nc == Some('了') && prev.is_some_and(|p| p.tag.starts_with('n'))) =>
                {
                    cur.set(0, "gan1")
                }
                '量' if in_set(pc, "的大少多用总") || next.is_none() => cur.set(0, "liang4"),
                '了' if in_set(pc, "不") && prev.is_some_and(|p| p.chars.len() == 1) => cur.set(0, "liao3"),
                '着' if in_set(pc, "睡") => cur.set(0, "zhao2"),
                '和' if in_set(pc, "暖") => cur.set(0, "huo5"),
                _ => {}
            }
            continue;
        }
        // Multi-character words the phrase dictionary does not know.
        if let Some((_, r)) = WORD_OVERRIDES.iter().find(|(w, _)| cur.is(w)) {
            for (k, p) in r.split(' ').enumerate() {
                cur.set_any(k, p);
            }
            continue;
        }
        let prev_adverbial = prev.is_some_and(adverbial);
        let n = cur.chars.len();
        for k in 0..n {
            let c = cur.chars[k];
            match c {
                '们' => cur.set(k, "men5"),
                '得' if n == 3 && k == 1 && cur.chars[0] != '不' => cur.set(k, "de5"),
                // V得 + complement: 走得很快, 做得好
                '得' if k == n - 1 && k > 0 && in_set(nc, "很太好快慢真多不非特满清挺越更最这那") => {
                    cur.set(k, "de5")
                }
                '行' | '只' if k > 0 && NUMERALS.contains(cur.chars[k - 1]) => {
                    cur.set(k, if c == '行' { "hang2" } else { "zhi1" })
                }
                '为' if k > 0 && "成认作以称视选评定改变化分转列".contains(cur.chars[k - 1]) => {
                    cur.set(k, "wei2")
                }
                '长' if k == 0 && !cur.chars.get(1).is_some_and(|c| "得大高出胖成满".contains(*c)) => {
                    cur.set(k, "chang2")
                }
                '长' if k > 0 && "很太真好多最更越挺".contains(cur.chars[k - 1]) => cur.set(k, "chang2"),
                '地' if k == 0 && prev_adverbial => cur.set(k, "de5"),
                '数' if n == 3 && cur.chars[1] == '一' && cur.chars[0] == cur.chars[2] => cur.set(k, "shu3"),
                '儿' if k == n - 1 && k > 0 && !NOT_ERHUA.iter().any(|w| cur.is(w)) => cur.set_any(k, "er5"),
                '地' if k == n - 1
                    && n >= 3
                    && (cur.chars[0] == cur.chars[1] || cur.tag.starts_with('a') || cur.tag.starts_with('d')) =>
                {
                    cur.set(k, "de5")
                }
                '了' | '着' | '的' if k == n - 1 && n >= 2 => {
                    let r = match c {
                        '了' => "le5",
                        '着' => "zhe5",
                        _ => "de5",
                    };
                    cur.set(k, r);
                }
                _ => {}
            }
        }
        let _ = next_text;
    }
}

/// Common words whose last syllable is spoken in the neutral tone (the phrase data keeps
/// the citation tone).
const NEUTRAL_LAST: &[&str] = &[
    "东西", "朋友", "客气", "早上", "晚上", "衣服", "意思", "事情", "时候", "知道", "喜欢", "认识", "告诉", "明白",
    "清楚", "舒服", "漂亮", "豆腐", "萝卜", "眼睛", "耳朵", "月亮", "休息", "麻烦", "关系", "地方", "名字", "消息",
    "窗户", "衣裳", "打扮", "便宜", "聪明", "干净", "热闹", "凉快", "商量", "收拾", "脑袋", "头发", "先生", "丈夫",
    "媳妇", "姑娘", "伙计", "亲戚", "事儿", "玩意", "钥匙", "尾巴", "嘴巴", "石头", "木头", "骨头", "舌头", "枕头",
    "馒头", "念头", "苦头", "甜头", "里头", "外头", "上头", "后头", "前头", "多么", "怎么", "这么", "那么", "什么",
    "为了", "除了", "算了", "好了", "罢了", "似的", "部分", "生意", "故事", "比方", "打听", "招呼", "折腾", "琢磨",
    "糊涂", "困难", "厉害", "规矩", "功夫", "本事", "结实", "模糊", "暖和", "利索", "痛快", "爽快", "快活", "实在",
    "觉得", "记得", "晓得", "认得", "值得", "懂得", "舍得", "免得", "使得", "显得",
];

/// Where an entry of [`NEUTRAL_LAST`] ends inside `word`: the whole word, the word with
/// one more character after it (早上好, 朋友们), or the end of the word (为什么, 老朋友).
fn neutral_word_end(word: &[char], entry: &str) -> Option<usize> {
    let e: Vec<char> = entry.chars().collect();
    let n = e.len();
    if word.len() < n {
        return None;
    }
    if word[..n] == e[..] && word.len() <= n + 1 {
        return Some(n - 1);
    }
    if word[word.len() - n..] == e[..] {
        return Some(word.len() - 1);
    }
    None
}

/// Kinship and baby-talk reduplications whose second syllable is neutral.
const REDUPLICATED_NEUTRAL: &str = "妈爸哥姐弟妹爷奶叔姑舅婶伯姥公婆宝娃星";

/// Mark neutral-tone syllables (spoken tone only).
fn neutral_tones(words: &mut [Word]) {
    for w in words.iter_mut() {
        let n = w.chars.len();
        let mark = |w: &mut Word, k: usize| {
            if let Some(Some(p)) = w.py.get_mut(k) {
                p.neutral = true;
            }
        };
        if n == 2 && w.chars[0] == w.chars[1] && REDUPLICATED_NEUTRAL.contains(w.chars[0]) {
            mark(w, 1);
        } else if let Some(end) = NEUTRAL_LAST.iter().find_map(|x| neutral_word_end(&w.chars, x)) {
            mark(w, end);
        } else if n == 3 && w.chars[1] == '不' && w.chars[0] != w.chars[2] {
            // V不C: 对不起, 看不见, 来不及
            mark(w, 1);
        }
        // 们 is always neutral
        for k in 0..n {
            if w.chars[k] == '们' {
                mark(w, k);
            }
        }
    }
}

/// Whether a word can modify a verb with 地 (慢慢, 认真, 高兴).
fn adverbial(p: &Word) -> bool {
    let t = p.tag.as_str();
    (p.chars.len() >= 2 && p.chars[0] == p.chars[1])
        || t.starts_with('a')
        || t.starts_with('d')
        || t == "b"
        || t == "z"
        || t == "i"
        || t == "l"
}

/// Words whose everyday reading the phrase data gets wrong.
const WORD_OVERRIDES: &[(&str, &str)] = &[("大夫", "dai4 fu5")];

/// Whether a word is a clitic that leans on the word before it.
fn is_clitic(w: &Word) -> bool {
    CLITICS.iter().any(|c| w.is(c))
}

/// Conjunctions and the like that start a new prosodic phrase.
const PHRASE_STARTERS: &[&str] = &[
    "但是", "可是", "因为", "所以", "而且", "如果", "虽然", "然后", "并且", "或者", "但", "而", "就是", "不过", "还是",
    "于是", "只要", "只有", "无论", "不管", "即使", "尽管", "因此", "同时",
];

/// Boundary before each word of a clause (the first gets `None`).
fn prosody(words: &[Word]) -> Vec<Boundary> {
    let lens: Vec<usize> = words.iter().map(|w| w.py.iter().filter(|p| p.is_some()).count()).collect();
    let total: usize = lens.iter().sum();
    let mut out = Vec::with_capacity(words.len());
    let mut pw_len = 0; // syllables in the current prosodic word
    let mut phrase_len = 0; // syllables in the current prosodic phrase
    let mut done = 0; // syllables before this word
    for (i, w) in words.iter().enumerate() {
        let len = lens[i];
        let b = if i == 0 || pw_len == 0 {
            Boundary::None
        } else if is_clitic(w) || len == 0 {
            Boundary::Word
        } else {
            let remaining = total - done;
            let starter = PHRASE_STARTERS.iter().any(|s| w.is(s)) && phrase_len >= 3 && remaining >= 3;
            let prev_len = lens[i - 1];
            // Numbers read out (二零二四年, 三十五点五元) stay one prosodic word while short.
            let numeric = |c: Option<&char>| c.is_some_and(|c| NUMERALS.contains(*c) || *c == '点');
            let in_number = numeric(words[i - 1].chars.last()) && numeric(w.chars.first()) && pw_len + len <= 6;
            let merge = in_number || ((len == 1 || prev_len == 1 || pw_len == 1) && pw_len + len <= 3 && !starter);
            if merge {
                Boundary::Word
            } else if starter || (phrase_len >= 6 && remaining >= 3) || (phrase_len + len > 9 && remaining >= 3) {
                Boundary::Phrase
            } else {
                Boundary::ProsodicWord
            }
        };
        match b {
            Boundary::Phrase => {
                pw_len = len;
                phrase_len = len;
            }
            Boundary::ProsodicWord => {
                pw_len = len;
                phrase_len += len;
            }
            _ => {
                pw_len += len;
                phrase_len += len;
            }
        }
        done += len;
        out.push(b);
    }
    out
}

/// A flat syllable with the context sandhi needs.
struct Flat {
    hanzi: char,
    s: String,
    lexical: u8,
    tone: u8,
    boundary: Boundary,
    locked: bool,
}

fn apply_yi_bu(f: &mut [Flat]) {
    for i in 0..f.len() {
        let prev = if i > 0 { Some(f[i - 1].hanzi) } else { None };
        let next = f.get(i + 1).map(|x| x.hanzi);
        let next_tone = f.get(i + 1).map(|x| x.lexical);
        let next2 = f.get(i + 2).map(|x| x.hanzi);
        let is = |c: Option<char>, set: &str| c.is_some_and(|c| set.contains(c));
        if f[i].hanzi == '一' && base_of(&f[i].s) == "yi" && f[i].tone == 1 {
            // 看一看, 数一数
            let reduplication = prev.is_some() && prev == next && f[i].boundary <= Boundary::Word;
            let numeric = is(prev, "第")
                || (is(prev, NUMERALS) && !is(prev, "几"))
                || is(next, DIGIT_CHARS)
                || is(next, "月号十")
                || (next == Some('点') && is(next2, DIGIT_CHARS));
            // 一 ending a longer word: 统一, 唯一, 万一
            let word_final =
                i > 0 && f[i].boundary == Boundary::None && f.get(i + 1).is_none_or(|x| x.boundary >= Boundary::Word);
            let t = if reduplication {
                5
            } else if numeric || next.is_none() || word_final {
                1
            } else {
                sandhi_yi(next_tone, next)
            };
            f[i].tone = t;
        } else if f[i].hanzi == '不' && base_of(&f[i].s) == "bu" && f[i].tone == 4 {
            if prev.is_some() && prev == next && f[i].boundary <= Boundary::ProsodicWord {
                // 是不是, 要不要 (jieba may cut 要|不要)
                f[i].tone = 5;
            } else if next_tone == Some(4) {
                f[i].tone = 2;
            }
        }
    }
}

fn sandhi_yi(next_tone: Option<u8>, next: Option<char>) -> u8 {
    match next_tone {
        Some(4) => 2,
        Some(5) if next == Some('个') => 2,
        Some(_) => 4,
        None => 1,
    }
}

/// Third-tone sandhi: inside lexical words first, then across word boundaries inside a
/// prosodic phrase (left to right).
fn apply_third_tone(f: &mut [Flat]) {
    // Lexical words: spans starting at a boundary >= Word.
    let mut starts: Vec<usize> = (0..f.len()).filter(|&i| i == 0 || f[i].boundary >= Boundary::Word).collect();
    starts.push(f.len());
    for w in starts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let n = b - a;
        if n == 3 && f[a..b].iter().all(|x| x.tone == 3) {
            let first_two: String = f[a..a + 2].iter().map(|x| x.hanzi).collect();
            let last_two: String = f[a + 1..b].iter().map(|x| x.hanzi).collect();
            if is_word(&last_two) && !is_word(&first_two) {
                // 1+2 structure: 纸老虎 zhi3 lao2 hu3
                f[a + 1].tone = 2;
            } else {
                f[a].tone = 2;
                f[a + 1].tone = 2;
            }
            continue;
        }
        for k in a..b.saturating_sub(1) {
            if f[k].tone == 3 && f[k + 1].tone == 3 && f[k + 1].lexical == 3 {
                f[k].tone = 2;
            }
        }
    }
    // Across lexical words, inside a prosodic phrase.
    for k in 1..f.len() {
        let b = f[k].boundary;
        if (b == Boundary::Word || b == Boundary::ProsodicWord) && f[k - 1].tone == 3 && f[k].tone == 3 {
            f[k - 1].tone = 2;
        }
    }
}

/// Pinyin for one run of Han characters (no punctuation inside).
fn run_to_syllables(run: &str, first_boundary: Boundary) -> Vec<Syllable> {
    let tags = JIEBA.tag(run, true);
    let mut words: Vec<Word> = tags
        .iter()
        .map(|t| Word { chars: t.word.chars().collect(), tag: t.tag.to_string(), py: readings_of(t.word) })
        .collect();
    resolve_polyphones(&mut words);
    neutral_tones(&mut words);
    let bounds = prosody(&words);
    let mut flat: Vec<Flat> = Vec::new();
    for (w, b) in words.iter().zip(bounds) {
        let mut first = true;
        for (c, p) in w.chars.iter().zip(&w.py) {
            let Some(p) = p else { continue };
            let t = tone_of(&p.s);
            flat.push(Flat {
                hanzi: *c,
                s: p.s.clone(),
                lexical: t,
                tone: if p.neutral { 5 } else { t },
                boundary: if first { b } else { Boundary::None },
                locked: p.locked,
            });
            first = false;
        }
    }
    apply_yi_bu(&mut flat);
    apply_third_tone(&mut flat);
    let n = flat.len();
    let mut out = Vec::with_capacity(n);
    for (i, x) in flat.into_iter().enumerate() {
        let base = base_of(&x.s).to_string();
        // Erhua: a word-final 儿 read as neutral `er` after another syllable of the same word.
        let erhua = x.hanzi == '儿' && base == "er" && x.tone == 5 && i > 0 && x.boundary == Boundary::None;
        let _ = x.locked;
        out.push(Syllable {
            hanzi: x.hanzi,
            pinyin: base,
            tone: x.tone,
            lexical_tone: x.lexical,
            boundary: if i == 0 { first_boundary } else { x.boundary },
            erhua,
        });
    }
    out
}

fn clause_break(c: char) -> bool {
    matches!(c, ',' | '、' | ';' | ':' | '—' | '–' | '…' | '，' | '；' | '：' | '·' | '─')
}

fn sentence_break(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '\n' | '‼' | '⁉')
}

fn push_break(out: &mut Vec<Segment>, p: Pause) {
    match out.last_mut() {
        Some(Segment::Break(q)) => *q = (*q).max(p),
        None => {}
        _ => out.push(Segment::Break(p)),
    }
}

pub(crate) fn frontend(text: &str) -> Vec<Segment> {
    let norm = normalize(text);
    let chars: Vec<char> = norm.chars().collect();
    let mut out: Vec<Segment> = Vec::new();
    let mut i = 0;
    let mut soft = false; // a quote/bracket/space between two Chinese runs
    while i < chars.len() {
        let c = chars[i];
        if is_han(c) {
            let start = i;
            while i < chars.len() && is_han(chars[i]) {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let b = match out.last() {
                Some(Segment::Break(Pause::Clause)) => Boundary::Clause,
                _ if soft => Boundary::Phrase,
                _ => Boundary::None,
            };
            let syls = run_to_syllables(&run, b);
            soft = false;
            if syls.is_empty() {
                continue;
            }
            if let (Some(Segment::Chinese(prev)), false) = (out.last_mut(), matches!(b, Boundary::Clause)) {
                let mut syls = syls;
                if let Some(first) = syls.first_mut() {
                    first.boundary = first.boundary.max(Boundary::Phrase);
                }
                prev.extend(syls);
            } else {
                out.push(Segment::Chinese(syls));
            }
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || (matches!(chars[i], '\'' | '-' | '.' | '&')
                        && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic()))
                    || (chars[i] == ' ' && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic())))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            soft = false;
            out.push(Segment::English(word));
        } else {
            if sentence_break(c) {
                push_break(&mut out, Pause::Sentence);
            } else if clause_break(c) {
                push_break(&mut out, Pause::Clause);
            } else {
                soft = true;
            }
            i += 1;
        }
    }
    while matches!(out.last(), Some(Segment::Break(_))) {
        out.pop();
    }
    out
}

pub(crate) fn to_tone3(text: &str, sandhi: bool) -> String {
    let norm_end = text.trim_end().chars().last();
    let mut out = String::new();
    let segs = frontend(text);
    for seg in &segs {
        match seg {
            Segment::Chinese(syls) => {
                for s in syls {
                    if matches!(s.boundary, Boundary::Clause) && !out.ends_with(',') {
                        out.push(',');
                    }
                    out.push_str(&s.pinyin);
                    out.push(char::from(b'0' + if sandhi { s.tone } else { s.lexical_tone }));
                }
            }
            Segment::English(e) => {
                if !out.is_empty() && !out.ends_with([',', '.', '?', '!']) {
                    out.push(' ');
                }
                out.push_str(e);
                out.push(' ');
            }
            Segment::Break(Pause::Clause) => {
                let t = out.trim_end().len();
                out.truncate(t);
                out.push(',');
            }
            Segment::Break(Pause::Sentence) => {
                let t = out.trim_end().len();
                out.truncate(t);
                out.push('.');
            }
        }
    }
    let t = out.trim_end().len();
    out.truncate(t);
    // Keep the final punctuation of the text.
    if let Some(c) = norm_end {
        let p = match crate::normalize::fold_width(&c.to_string()).chars().next().unwrap_or(c) {
            '?' => Some('?'),
            '!' => Some('!'),
            '.' | '。' => Some('.'),
            ',' | '、' => Some(','),
            _ => None,
        };
        if let Some(p) = p {
            if !out.is_empty() {
                out.push(p);
            }
        }
    }
    out
}

/// pypinyin-compatible `TONE3` of already-cleaned text: every Han character becomes its
/// pinyin + tone digit (dictionary tones, 5 = neutral; readings chosen by word context),
/// written without separators; everything else (punctuation, spaces, Latin, digits, Han
/// characters without a reading) is passed through unchanged. No number normalisation and
/// no sandhi — the shape of `"".join(p[0] for p in pypinyin.pinyin(text, style=Style.TONE3,
/// neutral_tone_with_five=True))`.
pub fn tone3_passthrough(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 3);
    let mut i = 0;
    let readable = |c: char| {
        is_han(c) && char_readings(crate::dict::to_simplified(&c.to_string()).chars().next().unwrap_or(c)).is_some()
    };
    while i < chars.len() {
        if readable(chars[i]) {
            let start = i;
            while i < chars.len() && readable(chars[i]) {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let simplified = crate::dict::to_simplified(&run);
            for s in run_to_syllables(&simplified, Boundary::None) {
                out.push_str(&s.pinyin);
                out.push(char::from(b'0' + s.lexical_tone));
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Mandarin letter names (approximations by Han characters), A..Z.
const LETTERS: [&str; 26] = [
    "诶",
    "比",
    "西",
    "迪",
    "伊",
    "艾弗",
    "吉",
    "艾尺",
    "艾",
    "杰",
    "开",
    "艾勒",
    "艾姆",
    "恩",
    "欧",
    "披",
    "丘",
    "阿",
    "艾斯",
    "提",
    "优",
    "维",
    "达布流",
    "艾克斯",
    "歪",
    "贼德",
];

/// A few Latin words and abbreviations common in Chinese text, in their usual Mandarin form.
const KNOWN_WORDS: &[(&str, &str)] = &[
    ("ok", "欧克"),
    ("okay", "欧克"),
    ("hello", "哈喽"),
    ("hi", "嗨"),
    ("bye", "拜"),
    ("wifi", "歪fai"),
    ("app", "诶屁屁"),
];

/// Spell a Latin word letter by letter with Mandarin letter names (`"ABC"` → `"诶比西"`),
/// for voices without English.
pub fn spell_english(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            out.push_str(LETTERS[(c.to_ascii_uppercase() as u8 - b'A') as usize]);
        } else if c.is_ascii_digit() {
            out.push_str(&crate::num::digit_string(&c.to_string(), false));
        }
    }
    out
}

/// How a voice without English renders a Latin segment: a few common words have a usual
/// Mandarin form (`OK` → 欧克); everything else is spelled letter by letter.
pub fn english_as_chinese(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if let Some((_, zh)) = KNOWN_WORDS.iter().find(|(w, _)| *w == lower) {
        if zh.chars().all(is_han) {
            return zh.to_string();
        }
    }
    text.split(|c: char| !c.is_ascii_alphanumeric()).map(spell_english).collect::<Vec<_>>().join("")
}
