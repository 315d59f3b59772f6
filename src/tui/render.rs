//! Drawing: the menu screen as mconf lays it out (back title, menu path,
//! a boxed list, the button row) plus a status line, and the dialogs on
//! top of it. Plain colours and box-drawing characters only, so it looks
//! the same over ssh and in tmux.

use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::kconfig::explain::Tone;
use crate::kconfig::SymType;

use super::app::{
    App, ChoiceDialog, Confirm, Dialog, DiffView, InputDialog, InputKind, SearchDialog, TextView,
    BUTTONS,
};
use super::list::{Entry, EntryKind};

/// The smallest terminal the menu is drawn in.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;

fn sel_style() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

fn keep_visible(sel: usize, scroll: &mut usize, page: usize, len: usize) {
    let page = page.max(1);
    if sel < *scroll {
        *scroll = sel;
    } else if sel >= *scroll + page {
        *scroll = sel + 1 - page;
    }
    let max = len.saturating_sub(page);
    if *scroll > max {
        *scroll = max;
    }
}

/// Cuts a string to at most `w` columns (characters), marking the cut.
fn clip(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        return s.to_string();
    }
    if w <= 2 {
        return s.chars().take(w).collect();
    }
    let mut out: String = s.chars().take(w - 2).collect();
    out.push_str("..");
    out
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &mut App) {
    app.before_frame();
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "Terminal too small ({}x{}): menuconfig needs at least {MIN_WIDTH}x{MIN_HEIGHT}.",
            area.width, area.height
        );
        f.render_widget(
            Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        app.geometry = Default::default();
        return;
    }
    draw_menu(f, app, area);
    let inner = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    let mut below = std::mem::take(&mut app.dialogs_below);
    for d in below.iter_mut() {
        draw_dialog(f, app, d, inner);
    }
    app.dialogs_below = below;
    if let Some(mut d) = app.dialog.take() {
        draw_dialog(f, app, &mut d, inner);
        app.dialog = Some(d);
    } else {
        app.geometry.dialog_list = Rect::default();
    }
}

fn draw_dialog(f: &mut Frame, app: &mut App, d: &mut Dialog, inner: Rect) {
    {
        match d {
            Dialog::Text(v) => draw_text(f, v, inner),
            Dialog::Choice(c) => draw_choice(f, app, c, inner),
            Dialog::Input(i) => draw_input(f, app, i, inner),
            Dialog::Confirm(c) => draw_confirm(f, c, inner),
            Dialog::Search(s) => draw_search(f, app, s, inner),
            Dialog::Diff(v) => draw_diff(f, app, v, inner),
        }
    }
}

fn entry_line(app: &App, e: &Entry, width: usize, selected: bool) -> Line<'static> {
    let base = if !e.visible {
        dim()
    } else if e.kind == EntryKind::Comment {
        Style::default().fg(Color::Cyan)
    } else {
        Style::default()
    };
    let mut spans: Vec<Span> = Vec::new();
    if e.changed {
        spans.push(Span::styled(
            "*",
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
    } else {
        spans.push(Span::raw(" "));
    }
    spans.push(Span::raw(" "));
    let marker = if e.kind == EntryKind::Value {
        let inner = &e.marker[1..e.marker.len().saturating_sub(1).max(1)];
        format!("({})", clip(inner, (width / 2).max(6)))
    } else {
        e.marker.clone()
    };
    let pad = (4 + e.indent).saturating_sub(marker.chars().count()).max(1);
    spans.push(Span::styled(marker, base));
    spans.push(Span::raw(" ".repeat(pad)));
    let prompt = if e.kind == EntryKind::Comment {
        format!("*** {} ***", e.prompt)
    } else {
        e.prompt.clone()
    };
    let hot = if e.kind == EntryKind::Comment || !e.visible {
        None
    } else {
        e.hotkey
    };
    match hot {
        Some(h) if h < prompt.len() => {
            let (a, rest) = prompt.split_at(h);
            let mut chars = rest.chars();
            let c = chars.next().map(String::from).unwrap_or_default();
            let b: String = chars.collect();
            spans.push(Span::styled(a.to_string(), base));
            let hs = if selected {
                base.add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
            } else {
                base.fg(Color::Yellow).add_modifier(Modifier::BOLD)
            };
            spans.push(Span::styled(c, hs));
            spans.push(Span::styled(b, base));
        }
        _ => spans.push(Span::styled(prompt, base)),
    }
    if e.new {
        spans.push(Span::styled(" (NEW)", base.fg(Color::Green)));
    }
    match e.submenu {
        Some(false) => spans.push(Span::styled("  --->", base)),
        Some(true) => spans.push(Span::styled("  ----", base)),
        None => {}
    }
    if app.show_names {
        if let Some(s) = e.sym {
            let n = &app.tree().syms[s].name;
            if !n.is_empty() {
                spans.push(Span::styled(format!("  {n}"), dim()));
            }
        }
    }
    let mut line = Line::from(spans);
    if selected {
        line = line.patch_style(sel_style());
    }
    line
}

fn draw_menu(f: &mut Frame, app: &mut App, area: Rect) {
    let w = area.width as usize;
    // Back title and menu path.
    let back = format!("{} - {}", app.config_path.display(), app.cfg.title());
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(
            clip(&back, w),
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ))),
        Rect::new(area.x, area.y, area.width, 1),
    );
    let crumbs = app.breadcrumb();
    let path = if crumbs.is_empty() {
        "> Main Menu".to_string()
    } else {
        format!("> {}", crumbs.join(" > "))
    };
    let path = if path.chars().count() > w {
        let skip = path.chars().count() - w + 3;
        format!("...{}", path.chars().skip(skip).collect::<String>())
    } else {
        path
    };
    f.render_widget(
        Paragraph::new(path),
        Rect::new(area.x, area.y + 1, area.width, 1),
    );

    // The boxed list.
    let boxr = Rect::new(area.x, area.y + 2, area.width, area.height - 4);
    let page = boxr.height.saturating_sub(2) as usize;
    app.page = page.max(1);
    let len = app.entries.len();
    let (sel, mut scroll) = (app.level().sel, app.level().scroll);
    keep_visible(sel, &mut scroll, page, len);
    if let Some(l) = app.stack.last_mut() {
        l.scroll = scroll;
    }
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Line::from(format!(" {} ", app.level_title())).centered());
    if scroll > 0 {
        block = block.title(Line::from("(-)").right_aligned());
    }
    if scroll + page < len {
        block = block.title_bottom(Line::from("(+)").right_aligned());
    }
    let inner = block.inner(boxr);
    f.render_widget(block, boxr);
    app.geometry.list = inner;
    let iw = inner.width as usize;
    let lines: Vec<Line> = if len == 0 {
        vec![Line::from(Span::styled(
            "   (nothing to show here: z shows hidden entries)",
            dim(),
        ))]
    } else {
        app.entries[scroll..(scroll + page).min(len)]
            .iter()
            .enumerate()
            .map(|(i, e)| entry_line(app, e, iw, scroll + i == sel))
            .collect()
    };
    f.render_widget(Paragraph::new(lines), inner);

    // Buttons.
    let by = area.y + area.height - 2;
    let labels: Vec<String> = BUTTONS
        .iter()
        .map(|b| {
            if b.len() < 6 {
                format!("< {b} >")
            } else {
                format!("<{b}>")
            }
        })
        .collect();
    let total: usize = labels.iter().map(|l| l.len()).sum::<usize>() + 2 * (labels.len() - 1);
    let mut x = area.x + (area.width.saturating_sub(total as u16)) / 2;
    app.geometry.buttons.clear();
    for (i, l) in labels.iter().enumerate() {
        let r = Rect::new(x, by, (l.len() as u16).min(area.x + area.width - x), 1);
        let st = if i == app.button {
            sel_style().add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        f.render_widget(Paragraph::new(Span::styled(l.clone(), st)), r);
        app.geometry.buttons.push(r);
        x = (x + l.len() as u16 + 2).min(area.x + area.width - 1);
    }

    // Status line.
    let mut right = Vec::new();
    if app.show_all {
        right.push("[all]".to_string());
    }
    if app.show_names {
        right.push("[names]".to_string());
    }
    // Counting changes is left for idle time on big trees.
    match app.change_count_cached() {
        Some(0) if !app.needs_save_without_changes() => {}
        Some(0) | None => right.push("unsaved".into()),
        Some(n) => right.push(format!("{n} unsaved")),
    }
    let right = right.join(" ");
    let left_w = w.saturating_sub(right.chars().count() + 1);
    let (left, lstyle) = match &app.message {
        Some(m) => (clip(m, left_w), Style::default().fg(Color::Yellow)),
        None => (
            clip(
                "?:help /:search z:all F2:names F3:changes ^Z:undo ^S:save Esc:back",
                left_w,
            ),
            dim(),
        ),
    };
    let pad = w.saturating_sub(left.chars().count() + right.chars().count());
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(left, lstyle),
            Span::raw(" ".repeat(pad)),
            Span::styled(
                right,
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            ),
        ])),
        Rect::new(area.x, area.y + area.height - 1, area.width, 1),
    );
}

/// Word-wraps `text` to `w` columns, continuing lines with `indent` spaces.
fn wrap(text: &str, w: usize, indent: usize) -> Vec<String> {
    let w = w.max(indent + 8);
    let mut out = Vec::new();
    let pre = " ".repeat(indent);
    let mut cur = pre.clone();
    let mut cur_len = indent;
    for word in text.split(' ') {
        let wl = word.chars().count();
        if cur_len > indent && cur_len + 1 + wl > w {
            out.push(std::mem::replace(&mut cur, pre.clone()));
            cur_len = indent;
        }
        if cur_len > indent {
            cur.push(' ');
            cur_len += 1;
        }
        if wl > w - indent {
            // Hard-break a long word.
            let mut chars = word.chars().peekable();
            while chars.peek().is_some() {
                let room = w - cur_len;
                let chunk: String = chars.by_ref().take(room.max(1)).collect();
                cur_len += chunk.chars().count();
                cur.push_str(&chunk);
                if chars.peek().is_some() {
                    out.push(std::mem::replace(&mut cur, pre.clone()));
                    cur_len = indent;
                }
            }
        } else {
            cur.push_str(word);
            cur_len += wl;
        }
    }
    out.push(cur);
    out
}

fn tone_style(t: Tone) -> Style {
    match t {
        Tone::Heading => Style::default().add_modifier(Modifier::BOLD),
        Tone::Text => Style::default(),
        Tone::Met => Style::default().fg(Color::Green),
        Tone::Unmet => Style::default().fg(Color::Red),
        Tone::Hint => Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    }
}

fn popup(f: &mut Frame, r: Rect, title: &str, hint: &str) -> Rect {
    f.render_widget(Clear, r);
    let mut b = Block::default().borders(Borders::ALL).title(
        Line::from(format!(
            " {} ",
            clip(title, r.width.saturating_sub(6) as usize)
        ))
        .centered(),
    );
    if !hint.is_empty() {
        b = b.title_bottom(
            Line::from(format!(
                " {} ",
                clip(hint, r.width.saturating_sub(4) as usize)
            ))
            .centered(),
        );
    }
    let inner = b.inner(r);
    f.render_widget(b, r);
    inner
}

fn draw_text(f: &mut Frame, v: &mut TextView, area: Rect) {
    let r = area;
    let has_links = v.lines.iter().any(|l| l.sym.is_some());
    let hint = if has_links {
        "Esc: close  arrows: scroll  Tab: next symbol  Enter: go to it"
    } else {
        "Esc/Enter: close  arrows, PgUp/PgDn: scroll"
    };
    let inner = popup(f, r, &v.title.clone(), hint);
    let w = inner.width.saturating_sub(1) as usize;
    let mut rows: Vec<(String, Tone, usize)> = Vec::new();
    for (i, l) in v.lines.iter().enumerate() {
        let ind = (l.indent as usize * 2).min(w / 2);
        let text = format!("{}{}", " ".repeat(ind), l.text);
        for part in wrap(&text, w, ind + 2) {
            rows.push((part, l.tone, i));
        }
    }
    let h = inner.height as usize;
    let max = rows.len().saturating_sub(h);
    if let Some(l) = v.link {
        if let (Some(first), Some(last)) = (
            rows.iter().position(|r| r.2 == l),
            rows.iter().rposition(|r| r.2 == l),
        ) {
            if first < v.scroll || last >= v.scroll + h {
                v.scroll = first.saturating_sub(h / 3);
            }
        }
    }
    v.scroll = v.scroll.min(max);
    let lines: Vec<Line> = rows
        .iter()
        .skip(v.scroll)
        .take(h)
        .map(|(t, tone, i)| {
            let mut st = tone_style(*tone);
            if Some(*i) == v.link {
                st = st.add_modifier(Modifier::REVERSED);
            }
            Line::from(Span::styled(format!(" {t}"), st))
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    if rows.len() > h {
        let pct = (v.scroll * 100).checked_div(max).unwrap_or(100);
        let label = format!("({pct}%)");
        let lw = label.len() as u16;
        if r.width > lw + 4 {
            f.render_widget(
                Paragraph::new(label),
                Rect::new(r.x + r.width - lw - 2, r.y, lw, 1),
            );
        }
    }
}

fn draw_choice(f: &mut Frame, app: &mut App, c: &mut ChoiceDialog, area: Rect) {
    let longest = c
        .items
        .iter()
        .map(|i| i.2.chars().count())
        .max()
        .unwrap_or(10);
    let w = (longest as u16 + 12)
        .max(c.title.chars().count() as u16 + 8)
        .max(50)
        .min(area.width.saturating_sub(4));
    let h = (c.items.len() as u16 + 2)
        .max(5)
        .min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    let inner = popup(
        f,
        r,
        &c.title.clone(),
        "Space/Enter: select  Esc: back  ?: help",
    );
    let page = inner.height as usize;
    keep_visible(c.sel, &mut c.scroll, page, c.items.len());
    app.geometry.dialog_list = inner;
    let iw = inner.width as usize;
    let mut lines = Vec::new();
    for (i, (_, v, p)) in c.items.iter().enumerate().skip(c.scroll).take(page) {
        let mark = if Some(*v) == c.active { "(X)" } else { "( )" };
        let mut text = format!(" {mark} {p}");
        if app.show_names {
            text.push_str(&format!("  {}", app.tree().syms[*v].name));
        }
        let st = if i == c.sel {
            sel_style()
        } else {
            Style::default()
        };
        lines.push(Line::from(Span::styled(clip(&text, iw), st)));
    }
    if c.items.is_empty() {
        lines.push(Line::from(Span::styled(" (no visible value)", dim())));
    }
    f.render_widget(Paragraph::new(lines), inner);
    // Scroll marks on the frame, as on the menu.
    if c.scroll > 0 && r.width > 8 {
        f.render_widget(
            Paragraph::new("(-)"),
            Rect::new(r.x + r.width - 5, r.y, 3, 1),
        );
    }
    if c.scroll + page < c.items.len() && r.width > 8 && r.height > 1 {
        f.render_widget(
            Paragraph::new("(+)"),
            Rect::new(r.x + r.width - 5, r.y + r.height - 1, 3, 1),
        );
    }
}

/// The part of `buf` that fits in `w` columns with the cursor visible, and the cursor column.
fn input_window(buf: &str, cursor: usize, w: usize) -> (String, usize) {
    let w = w.max(1);
    let start = if cursor >= w { cursor + 1 - w } else { 0 };
    let s: String = buf.chars().skip(start).take(w).collect();
    (s, cursor - start)
}

fn draw_input(f: &mut Frame, app: &mut App, i: &mut InputDialog, area: Rect) {
    let w = 70.min(area.width.saturating_sub(4));
    let text_rows = wrap(&i.text, w.saturating_sub(4) as usize, 0);
    let h = (text_rows.len() as u16 + 6).min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    let hint = match i.kind {
        InputKind::Value(_) => "Enter: ok  Esc: cancel  F1: help",
        _ => "Enter: ok  Esc: cancel",
    };
    let inner = popup(f, r, &i.title.clone(), hint);
    app.geometry.dialog_list = Rect::default();
    let mut y = inner.y;
    for t in &text_rows {
        if y >= inner.y + inner.height {
            break;
        }
        f.render_widget(
            Paragraph::new(format!(" {t}")),
            Rect::new(inner.x, y, inner.width, 1),
        );
        y += 1;
    }
    if y + 3 > inner.y + inner.height {
        return;
    }
    let field = Rect::new(inner.x + 1, y, inner.width.saturating_sub(2), 3);
    let b = Block::default().borders(Borders::ALL);
    let fi = b.inner(field);
    f.render_widget(b, field);
    let (shown, cx) = input_window(&i.buf, i.cursor, fi.width.saturating_sub(1) as usize);
    f.render_widget(Paragraph::new(shown), fi);
    f.set_cursor_position(Position::new(fi.x + cx as u16, fi.y));
    y += 3;
    if let Some(e) = &i.error {
        if y < inner.y + inner.height {
            f.render_widget(
                Paragraph::new(Span::styled(
                    format!(" {}", clip(e, (inner.width as usize).saturating_sub(2))),
                    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                )),
                Rect::new(inner.x, y, inner.width, 1),
            );
        }
    } else if let InputKind::Value(s) = i.kind {
        if y < inner.y + inner.height {
            let ty = app.tree().syms[s].ty;
            let name = app.tree().syms[s].name.clone();
            let kind = match ty {
                SymType::Int => "int",
                SymType::Hex => "hex",
                _ => "string",
            };
            f.render_widget(
                Paragraph::new(Span::styled(format!(" {name} ({kind})"), dim())),
                Rect::new(inner.x, y, inner.width, 1),
            );
        }
    }
}

fn draw_confirm(f: &mut Frame, c: &mut Confirm, area: Rect) {
    let r = centered(area, 56.min(area.width.saturating_sub(2)), 7);
    let hint = if c.from_ctrl_c {
        "Esc: back to the menu  Ctrl-C: quit without saving"
    } else {
        "Esc: back to the menu"
    };
    let inner = popup(f, r, "Exit", hint);
    let yes = if c.yes {
        sel_style().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    let no = if !c.yes {
        sel_style().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    let lines = vec![
        Line::from(c.text.clone()).centered(),
        Line::from(""),
        Line::from(vec![
            Span::styled("< Yes >", yes),
            Span::raw("    "),
            Span::styled("<  No  >", no),
        ])
        .centered(),
    ];
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_search(f: &mut Frame, app: &mut App, s: &mut SearchDialog, area: Rect) {
    let r = area;
    let inner = popup(
        f,
        r,
        "Search symbols and prompts",
        "Enter: go to  Tab: fuzzy/regex  F1: help  Esc: close",
    );
    if inner.height < 5 {
        return;
    }
    let label = format!(" {} > ", s.mode.name());
    let lw = label.len() as u16;
    let (shown, cx) = input_window(
        &s.query,
        s.cursor,
        inner.width.saturating_sub(lw + 1) as usize,
    );
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                label,
                Style::default()
                    .fg(Color::Cyan)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(shown),
        ])),
        Rect::new(inner.x, inner.y, inner.width, 1),
    );
    f.set_cursor_position(Position::new(inner.x + lw + cx as u16, inner.y));
    let status = match &s.error {
        Some(e) => Span::styled(format!(" {e}"), Style::default().fg(Color::Red)),
        None if s.query.trim().is_empty() => {
            Span::styled(" type part of a symbol name or prompt", dim())
        }
        None => Span::styled(
            format!(
                " {} match{}",
                s.hits.len(),
                if s.hits.len() == 1 { "" } else { "es" }
            ),
            dim(),
        ),
    };
    f.render_widget(
        Paragraph::new(Line::from(status)),
        Rect::new(inner.x, inner.y + 1, inner.width, 1),
    );
    let list = Rect::new(
        inner.x,
        inner.y + 2,
        inner.width,
        inner.height.saturating_sub(5),
    );
    app.geometry.dialog_list = list;
    let page = list.height as usize;
    keep_visible(s.sel, &mut s.scroll, page, s.hits.len());
    let iw = list.width as usize;
    let namew = s
        .hits
        .iter()
        .skip(s.scroll)
        .take(page)
        .map(|h| h.name.len())
        .max()
        .unwrap_or(0)
        .min(iw / 2);
    let mut lines = Vec::new();
    for i in s.scroll..(s.scroll + page).min(s.hits.len()) {
        let h = &s.hits[i];
        let value = match h.sym {
            Some(sym) if !app.tree().syms[sym].is_choice => {
                format!(" [={}]", app.cfg.string_value(sym))
            }
            _ => String::new(),
        };
        let name = if h.name.is_empty() {
            if h.sym.is_some() {
                "(choice)"
            } else {
                "(menu)"
            }
            .to_string()
        } else {
            h.name.clone()
        };
        let text = format!(" {:<namew$}  {}{}", clip(&name, namew), h.prompt, value);
        let st = if i == s.sel {
            sel_style()
        } else {
            Style::default()
        };
        lines.push(Line::from(Span::styled(clip(&text, iw), st)));
    }
    f.render_widget(Paragraph::new(lines), list);
    // Details of the selected hit: its menu path and definition.
    if let Some(h) = s.hits.get(s.sel) {
        let y = inner.y + inner.height - 3;
        f.render_widget(
            Block::default().borders(Borders::TOP).border_style(dim()),
            Rect::new(inner.x, y, inner.width, 1),
        );
        let loc = app.tree().menus[h.menu].loc.clone();
        f.render_widget(
            Paragraph::new(vec![
                Line::from(Span::raw(clip(&format!(" Location: {}", h.location), iw))),
                Line::from(Span::styled(clip(&format!(" Defined at {loc}"), iw), dim())),
            ]),
            Rect::new(inner.x, y + 1, inner.width, 2),
        );
    }
}

fn draw_diff(f: &mut Frame, app: &mut App, v: &mut DiffView, area: Rect) {
    let r = area;
    let title = format!(
        "Unsaved changes ({}) against {}",
        v.rows.len(),
        app.config_path.display()
    );
    let inner = popup(f, r, &title, "Enter: go to  Esc: close");
    app.geometry.dialog_list = inner;
    let page = inner.height as usize;
    keep_visible(v.sel, &mut v.scroll, page, v.rows.len());
    let iw = inner.width as usize;
    let mut lines = Vec::new();
    if v.rows.is_empty() {
        lines.push(Line::from(Span::styled(" No unsaved changes.", dim())));
    }
    for i in v.scroll..(v.scroll + page).min(v.rows.len()) {
        let row = &v.rows[i];
        let is_string = app.tree().syms[row.sym].ty == SymType::String;
        let show = |o: &Option<String>| match o {
            Some(s) if is_string => format!("\"{s}\""),
            Some(s) => s.clone(),
            None => "(not set)".to_string(),
        };
        let mut spans = vec![
            Span::raw(format!(" {}: ", row.name)),
            Span::styled(show(&row.old), Style::default().fg(Color::Red)),
            Span::raw(" -> "),
            Span::styled(show(&row.new), Style::default().fg(Color::Green)),
        ];
        let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
        if used > iw {
            spans = vec![Span::raw(clip(
                &format!(" {}: {} -> {}", row.name, show(&row.old), show(&row.new)),
                iw,
            ))];
        }
        let mut line = Line::from(spans);
        if i == v.sel {
            line = line.patch_style(sel_style());
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_words_and_long_tokens() {
        assert_eq!(wrap("aa bb cc", 10, 0), vec!["aa bb cc"]);
        assert_eq!(wrap("aaaa bbbb cccc", 10, 0), vec!["aaaa bbbb", "cccc"]);
        let w = wrap(&"x".repeat(25), 10, 0);
        assert!(w.iter().all(|l| l.chars().count() <= 10), "{w:?}");
        assert_eq!(clip("abcdef", 4), "ab..");
        assert_eq!(input_window("abcdef", 6, 4), ("def".to_string(), 3));
    }
}
