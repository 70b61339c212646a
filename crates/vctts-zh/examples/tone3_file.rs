//! `tone3_passthrough` on each line of stdin (`TEXT` or `TEXT<TAB>EXPECTED`); prints
//! mismatches against EXPECTED (e.g. pypinyin's output) and a count.
use std::io::BufRead;

fn main() {
    let (mut n, mut same) = (0, 0);
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let (text, want) = line.split_once('\t').unwrap_or((&line, ""));
        let got = vctts_zh::tone3_passthrough(text);
        n += 1;
        if got == want {
            same += 1;
        } else {
            println!("{text}\n  got  {got}\n  want {want}");
        }
    }
    println!("{same}/{n} identical");
}
