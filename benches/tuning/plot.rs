//! Line charts as plain SVG, written by hand so the sweep needs no plotting
//! dependency: panels side by side, the swept values evenly spaced on x (the
//! sweeps are roughly geometric, so this reads like a log axis), y from 0.

use std::fmt::Write as _;

/// One line of a panel.
pub struct Series {
    /// Legend text; empty: not in the legend.
    pub name: String,
    pub color: &'static str,
    pub dashed: bool,
    /// Small open dots and no line (single runs around a mean).
    pub points_only: bool,
    pub values: Vec<f64>,
}

/// One chart.
pub struct Panel {
    pub title: String,
    pub y_label: String,
    /// Tick labels as plain numbers (milliseconds) rather than `250k`.
    pub plain: bool,
    pub series: Vec<Series>,
}

const PANEL_W: f64 = 470.0;
const PANEL_H: f64 = 330.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 58.0;
const BOTTOM: f64 = 58.0;

/// A step of 1, 2, 2.5 or 5 times a power of ten giving about five ticks.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(f64::MIN_POSITIVE);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power)
}

/// `1.5M`, `250k`, `12.5`: short tick labels.
pub fn short(v: f64) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if v >= 1e6 {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    } else if v >= 1e3 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else {
        trim(format!("{v:.1}"))
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn panel(out: &mut String, p: &Panel, x0: f64, x_label: &str, x_ticks: &[String]) {
    let (w, h) = (PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM);
    let (left, top) = (x0 + LEFT, TOP);
    let max = p
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let step = nice_step(if max > 0.0 { max * 1.05 } else { 1.0 });
    let y_max = (max * 1.05 / step).ceil().max(1.0) * step;
    let y = |v: f64| top + h - h * (v / y_max);
    let n = x_ticks.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            left + w / 2.0
        } else {
            left + w * i as f64 / (n - 1) as f64
        }
    };
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="22" class="title">{}</text>"#,
        x0 + LEFT,
        escape(&p.title)
    );
    let mut tick = 0.0;
    while tick <= y_max + step / 2.0 {
        let ty = y(tick);
        let _ = writeln!(
            out,
            r#"<line x1="{left:.1}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" class="grid"/><text x="{:.1}" y="{:.1}" class="ytick">{}</text>"#,
            left + w,
            left - 6.0,
            ty + 4.0,
            if p.plain && tick.fract() == 0.0 {
                format!("{tick:.0}")
            } else if p.plain {
                format!("{tick:.1}")
            } else {
                short(tick)
            }
        );
        tick += step;
    }
    for (i, label) in x_ticks.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="xtick">{}</text>"#,
            x(i),
            top + h + 18.0,
            escape(label)
        );
    }
    let _ = writeln!(
        out,
        r#"<line x1="{left:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" class="axis"/><text x="{:.1}" y="{:.1}" class="xlabel">{}</text>"#,
        top + h,
        left + w,
        top + h,
        left + w / 2.0,
        top + h + 42.0,
        escape(x_label)
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate({:.1},{:.1}) rotate(-90)" class="ylabel">{}</text>"#,
        x0 + 16.0,
        top + h / 2.0,
        escape(&p.y_label)
    );
    let mut legend = 0;
    for s in &p.series {
        let points: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| (x(i), y(*v)))
            .collect();
        if s.points_only {
            for (px, py) in &points {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{px:.1}" cy="{py:.1}" r="2.5" fill="none" stroke="{}" stroke-opacity="0.6"/>"#,
                    s.color
                );
            }
            continue;
        }
        let dash = if s.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let line: Vec<String> = points
            .iter()
            .map(|(px, py)| format!("{px:.1},{py:.1}"))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
            line.join(" "),
            s.color
        );
        for (px, py) in &points {
            let _ = writeln!(
                out,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="3" fill="{}"/>"#,
                s.color
            );
        }
        if s.name.is_empty() {
            continue;
        }
        let ly = 34.0 + 14.0 * legend as f64;
        legend += 1;
        let _ = writeln!(
            out,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}" class="legend">{}</text>"#,
            left,
            ly,
            left + 18.0,
            ly,
            s.color,
            left + 24.0,
            ly + 4.0,
            escape(&s.name)
        );
    }
}

/// An SVG document with the panels side by side over one x axis.
pub fn figure(panels: &[Panel], x_label: &str, x_ticks: &[String], note: &str) -> String {
    let width = PANEL_W * panels.len() as f64;
    let height = PANEL_H + 18.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="Helvetica, Arial, sans-serif">"#
    );
    out.push_str(
        "<style>.title{font-size:14px;font-weight:bold;fill:#1d2630}.grid{stroke:#e3e8ee}\
         .axis{stroke:#66727f}.ytick{font-size:11px;fill:#66727f;text-anchor:end}\
         .xtick{font-size:11px;fill:#66727f;text-anchor:middle}.xlabel{font-size:12px;fill:#1d2630;text-anchor:middle}\
         .ylabel{font-size:12px;fill:#1d2630;text-anchor:middle}.legend{font-size:11px;fill:#1d2630}\
         .note{font-size:10px;fill:#66727f}</style>\n",
    );
    let _ = writeln!(
        out,
        r#"<rect width="{width:.0}" height="{height:.0}" fill="white"/>"#
    );
    for (i, p) in panels.iter().enumerate() {
        panel(&mut out, p, PANEL_W * i as f64, x_label, x_ticks);
    }
    let _ = writeln!(
        out,
        r#"<text x="10" y="{:.0}" class="note">{}</text>"#,
        height - 6.0,
        escape(note)
    );
    out.push_str("</svg>\n");
    out
}
