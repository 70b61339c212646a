//! Tone sandhi, neutral tones, number/date/time/money/phone readings, mixed text,
//! TONE3 output and bad input.

use vctts_zh::{frontend, normalize, pinyin_string, to_tone3, Boundary, Pause, Segment};

/// Spoken tones (after sandhi) of whole phrases.
const SANDHI: &[(&str, &str)] = &[
    // third tone
    ("你好", "ni2 hao3"),
    ("老虎", "lao2 hu3"),
    ("很好", "hen2 hao3"),
    ("水果", "shui2 guo3"),
    ("展览馆", "zhan2 lan2 guan3"),
    ("洗脸", "xi2 lian3"),
    ("可以", "ke2 yi3"),
    ("理想", "li2 xiang3"),
    ("雨伞", "yu2 san3"),
    ("手表", "shou2 biao3"),
    ("我想买雨伞", "wo2 xiang2 mai3 yu2 san3"),
    ("我也有", "wo2 ye2 you3"),
    ("我们", "wo3 men5"),
    ("姐姐", "jie3 jie5"),
    ("哪里", "na2 li3"),
    ("好的", "hao3 de5"),
    ("早上好", "zao3 shang5 hao3"),
    ("你你", "ni2 ni3"),
    ("买马", "mai2 ma3"),
    // 一
    ("一个", "yi2 ge4"),
    ("一样", "yi2 yang4"),
    ("一天", "yi4 tian1"),
    ("一年", "yi4 nian2"),
    ("一点", "yi4 dian3"),
    ("第一", "di4 yi1"),
    ("十一", "shi2 yi1"),
    ("一月", "yi1 yue4"),
    ("统一", "tong3 yi1"),
    ("唯一", "wei2 yi1"),
    ("看一看", "kan4 yi5 kan4"),
    ("想一想", "xiang3 yi5 xiang3"),
    ("一百", "yi4 bai3"),
    ("一千", "yi4 qian1"),
    ("一万", "yi2 wan4"),
    ("一九九八年", "yi1 jiu2 jiu3 ba1 nian2"),
    ("一模一样", "yi4 mu2 yi2 yang4"),
    ("一起", "yi4 qi3"),
    ("一定", "yi2 ding4"),
    ("一般", "yi4 ban1"),
    ("一直", "yi4 zhi2"),
    ("一共", "yi2 gong4"),
    ("1.5", "yi1 dian2 wu3"),
    // 不
    ("不是", "bu2 shi4"),
    ("不对", "bu2 dui4"),
    ("不好", "bu4 hao3"),
    ("不来", "bu4 lai2"),
    ("不吃", "bu4 chi1"),
    ("是不是", "shi4 bu5 shi4"),
    ("要不要", "yao4 bu5 yao4"),
    ("你要不要一起来", "ni3 yao4 bu5 yao4 yi4 qi3 lai2"),
    ("好不好", "hao3 bu5 hao3"),
    ("不客气", "bu2 ke4 qi5"),
    ("差不多", "cha4 bu5 duo1"),
    ("不会", "bu2 hui4"),
    ("对不起", "dui4 bu5 qi3"),
    // neutral tones
    ("你们好", "ni3 men5 hao3"),
    ("东西", "dong1 xi5"),
    ("朋友", "peng2 you5"),
    ("桌子", "zhuo1 zi5"),
    ("妈妈", "ma1 ma5"),
    ("他走了吗", "ta1 zou3 le5 ma5"),
    ("你呢", "ni3 ne5"),
    ("走吧", "zou3 ba5"),
    ("看着", "kan4 zhe5"),
    ("什么", "shen2 me5"),
    ("孩子们", "hai2 zi5 men5"),
    ("学生们", "xue2 sheng1 men5"),
    ("一会儿", "yi2 hui4 er5"),
    ("一点儿", "yi4 dian3 er5"),
];

#[test]
fn sandhi_and_neutral_tones() {
    let mut failures = Vec::new();
    for (text, want) in SANDHI {
        let got = pinyin_string(text);
        if got != *want {
            failures.push(format!("{text}: got `{got}`, want `{want}`"));
        }
    }
    assert!(failures.is_empty(), "{} of {} wrong:\n{}", failures.len(), SANDHI.len(), failures.join("\n"));
}

/// Normalised text (what is read) for numbers, dates, times, money, phones, units.
const NORMALIZE: &[(&str, &str)] = &[
    ("今天是2024年3月5日", "今天是二零二四年三月五日"),
    ("会议定在2024-03-05", "会议定在二零二四年三月五日"),
    ("2023/12/31是最后一天", "二零二三年十二月三十一日是最后一天"),
    ("他1998年出生", "他一九九八年出生"),
    ("现在是14:30", "现在是十四点三十分"),
    ("7:05出发", "七点零五分出发"),
    ("12:00吃饭", "十二点吃饭"),
    ("下午2:30见", "下午两点三十分见"),
    ("比分是3:1", "比分是三比一"),
    ("打折50%", "打折百分之五十"),
    ("增长了12.5%", "增长了百分之十二点五"),
    ("花了¥128", "花了一百二十八元"),
    ("价格$9.99", "价格九点九九美元"),
    ("一共35元", "一共三十五元"),
    ("我的手机号是13912345678", "我的手机号是幺三九幺二三四五六七八"),
    ("请拨打010-62345678", "请拨打零幺零六二三四五六七八"),
    ("客服电话400-820-8820", "客服电话四零零八二零八八二零"),
    ("3/4的人", "四分之三的人"),
    ("1/2", "二分之一"),
    ("3-5个工作日", "三到五个工作日"),
    ("温度在20~25℃之间", "温度在二十到二十五摄氏度之间"),
    ("零下-10度", "零下负十度"),
    ("体重65kg", "体重六十五公斤"),
    ("身高180cm", "身高一百八十厘米"),
    ("距离3.5km", "距离三点五公里"),
    ("我有2本书", "我有两本书"),
    ("第2天", "第二天"),
    ("2个人", "两个人"),
    ("22个人", "二十二个人"),
    ("共有10086人", "共有一万零八十六人"),
    ("100万", "一百万"),
    ("3亿人", "三亿人"),
    ("0.5", "零点五"),
    ("1,000,000", "一百万"),
    ("１２３４", "一千二百三十四"),
    ("第１名", "第一名"),
    ("1+1=2", "一加一等于二"),
    ("10%-20%", "百分之十到百分之二十"),
    ("30°C", "三十摄氏度"),
    ("5:00:30", "五点零分三十秒"),
];

#[test]
fn numbers_dates_times_money_phones() {
    let mut failures = Vec::new();
    for (text, want) in NORMALIZE {
        let got = normalize(text);
        if got != *want {
            failures.push(format!("{text}: got `{got}`, want `{want}`"));
        }
    }
    assert!(failures.is_empty(), "{} of {} wrong:\n{}", failures.len(), NORMALIZE.len(), failures.join("\n"));
}

#[test]
fn phone_numbers_use_yao() {
    assert_eq!(pinyin_string("110"), "yi4 bai3 yi1 shi2");
    assert_eq!(pinyin_string("13800138000"), "yao1 san1 ba1 ling2 ling2 yao1 san1 ba1 ling2 ling2 ling2");
}

#[test]
fn traditional_characters() {
    assert_eq!(pinyin_string("這是測試"), pinyin_string("这是测试"));
    assert_eq!(pinyin_string("我們學習漢語"), "wo3 men5 xue2 xi2 han4 yu3");
    assert_eq!(pinyin_string("銀行"), "yin2 hang2");
    assert_eq!(pinyin_string("頭髮很長"), pinyin_string("头发很长"));
}

#[test]
fn punctuation_breaks() {
    let segs = frontend("你好，世界。再见！");
    let breaks: Vec<_> = segs
        .iter()
        .filter_map(|s| match s {
            Segment::Break(p) => Some(*p),
            _ => None,
        })
        .collect();
    assert_eq!(breaks, vec![Pause::Clause, Pause::Sentence]);
    // a clause break gives the next syllable a #3 boundary
    let after_comma = segs.iter().find_map(|s| match s {
        Segment::Chinese(v) if v[0].hanzi == '世' => Some(v[0].boundary),
        _ => None,
    });
    assert_eq!(after_comma, Some(Boundary::Clause));
    // repeated punctuation collapses, trailing punctuation is dropped
    let segs = frontend("好！！！？？");
    assert_eq!(segs.len(), 1);
}

#[test]
fn mixed_chinese_and_english_in_order() {
    let segs = frontend("我用iPhone打电话给Tom，OK吗？");
    let kinds: Vec<String> = segs
        .iter()
        .map(|s| match s {
            Segment::Chinese(v) => v.iter().map(|s| s.hanzi).collect(),
            Segment::English(e) => format!("<{e}>"),
            Segment::Break(p) => format!("|{p:?}"),
        })
        .collect();
    assert_eq!(kinds, vec!["我用", "<iPhone>", "打电话给", "<Tom>", "|Clause", "<OK>", "吗"]);
    let segs = frontend("New York很大");
    assert_eq!(segs[0], Segment::English("New York".into()));
}

#[test]
fn english_rendering_for_voices_without_english() {
    assert_eq!(vctts_zh::spell_english("ABC"), "诶比西");
    assert_eq!(vctts_zh::english_as_chinese("OK"), "欧克");
    assert_eq!(vctts_zh::english_as_chinese("CPU"), "西披优");
}

#[test]
fn tone3_for_xtts() {
    assert_eq!(to_tone3("你好，世界。", false), "ni3hao3,shi4jie4.");
    assert_eq!(to_tone3("你好，世界。", true), "ni2hao3,shi4jie4.");
    assert_eq!(to_tone3("我有3个苹果！", false), "wo3you3san1ge4ping2guo3!");
    assert_eq!(to_tone3("你是谁？", false), "ni3shi4shei2?");
    assert_eq!(to_tone3("我们的东西", false), "wo3men5de5dong1xi1");
    assert_eq!(to_tone3("我们的东西", true), "wo3men5de5dong1xi5");
    assert_eq!(to_tone3("我爱Python编程", false), "wo3ai4 Python bian1cheng2");
    assert_eq!(to_tone3("", false), "");
}

#[test]
fn tone3_passthrough_like_pypinyin() {
    use vctts_zh::tone3_passthrough as t;
    assert_eq!(t("你好,世界,"), "ni3hao3,shi4jie4,");
    assert_eq!(t("我的电量为 百分之十四,"), "wo3de5dian4liang4wei2 bai3fen1zhi1shi2si4,");
    assert_eq!(
        t("今天是二零二四年三月十五日,星期五,"),
        "jin1tian1shi4er4ling2er4si4nian2san1yue4shi2wu3ri4,xing1qi1wu3,"
    );
    assert_eq!(t("银行行长"), "yin2hang2hang2zhang3");
    assert_eq!(t("abc 123 ！"), "abc 123 ！");
    assert_eq!(t("這是測試"), "zhe4shi4ce4shi4");
    assert_eq!(t("你\u{E000}好"), "ni3\u{E000}hao3");
    assert_eq!(t(""), "");
}

#[test]
fn prosodic_boundaries() {
    // clitics stay in the word before them; long clauses get phrase breaks
    let segs = frontend("我们的老师今天在学校里给同学们讲了一个非常有意思的故事");
    let Segment::Chinese(v) = &segs[0] else { panic!("{segs:?}") };
    let de = v.iter().position(|s| s.hanzi == '的').unwrap();
    assert_eq!(v[de].boundary, Boundary::Word);
    assert!(v.iter().any(|s| s.boundary == Boundary::Phrase), "{v:?}");
    assert!(v.iter().any(|s| s.boundary == Boundary::ProsodicWord), "{v:?}");
}

#[test]
fn bad_input_never_panics() {
    // only punctuation / symbols / emoji: nothing to speak
    for t in ["", "   ", "，。！？", "...!!!", "😀😀", "@#￥%……&*（）", "\u{0}\u{1}"] {
        let segs = frontend(t);
        assert!(segs.iter().all(|s| matches!(s, Segment::Break(_))) || segs.is_empty(), "{t}: {segs:?}");
    }
    // rare characters: the pinyin table covers CJK extension blocks; ones it lacks are skipped
    let segs = frontend("𠀀𪚥龘靐");
    let n: usize = segs.iter().map(|s| if let Segment::Chinese(v) = s { v.len() } else { 0 }).sum();
    assert!(n >= 2, "{segs:?}");
    // a private-use character is ignored (it only separates the words), the rest is read
    assert_eq!(pinyin_string("你\u{E000}好"), "ni3 hao3");
    // 5,000 characters
    let long: String = "我们今天去公园散步，天气很好。".repeat(334);
    let segs = frontend(&long);
    let n: usize = segs.iter().map(|s| if let Segment::Chinese(v) = s { v.len() } else { 0 }).sum();
    assert_eq!(n, 13 * 334);
    // a huge number
    assert!(!normalize("123456789012345678901234567890").is_empty());
    assert!(!pinyin_string("99999999999999999999").is_empty());
}

#[test]
fn many_cases_overall() {
    assert!(SANDHI.len() + NORMALIZE.len() >= 100);
}

#[test]
fn random_text_never_panics() {
    // Deterministic pseudo-random strings over a pool that exercises every normaliser branch.
    let pool: Vec<char> =
        "0123456789.,:-/~%$¥￥€£+=年月日号点个只第一不的了得地长行2024:３０％，。！？；：、“”（）《》 \
                           abcXYZ km cm kg ℃°C 𠀀龘這們\u{E000}😀\n\t"
            .chars()
            .collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let len = (next() % 40) as usize;
        let s: String = (0..len).map(|_| pool[(next() % pool.len() as u64) as usize]).collect();
        let segs = frontend(&s);
        for seg in &segs {
            if let Segment::Chinese(v) = seg {
                assert!(v.iter().all(|x| (1..=5).contains(&x.tone) && !x.pinyin.is_empty()), "{s:?}: {v:?}");
            }
        }
        let _ = to_tone3(&s, true);
        let _ = vctts_zh::tone3_passthrough(&s);
    }
}
