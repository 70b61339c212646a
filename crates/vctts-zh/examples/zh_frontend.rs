//! Print what the front end makes of each argument (or of stdin lines).
use std::io::BufRead;

fn show(line: &str) {
    println!("{line}");
    println!("  norm : {}", vctts_zh::normalize(line));
    println!("  tone3: {}", vctts_zh::to_tone3(line, false));
    for seg in vctts_zh::frontend(line) {
        match seg {
            vctts_zh::Segment::Chinese(s) => {
                let mut t = String::new();
                for x in s {
                    let b = match x.boundary {
                        vctts_zh::Boundary::None => "",
                        vctts_zh::Boundary::Word => " ",
                        vctts_zh::Boundary::ProsodicWord => " #1 ",
                        vctts_zh::Boundary::Phrase => " #2 ",
                        vctts_zh::Boundary::Clause => " #3 ",
                    };
                    t.push_str(b);
                    t.push_str(&format!("{}{}", x.hanzi, x.tone3()));
                }
                println!("  zh   : {t}");
            }
            vctts_zh::Segment::English(e) => println!("  en   : {e}"),
            vctts_zh::Segment::Break(p) => println!("  break: {p:?}"),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            show(&line);
        }
    } else {
        for a in args {
            show(&a);
        }
    }
}
