//! `/analytics`: per-account activity and per-post engagement as
//! server-rendered SVG charts, each with the same numbers as a table.

use herald_core::post::PostStatus;
use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use herald_app::posts::ListPostsQuery;
use serde::Deserialize;

use crate::UiState;
use crate::chrome::Chrome;
use crate::error::UiResult;
use crate::pages::view::excerpt;
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new().route("/analytics", get(page))
}

pub struct DayRow {
    pub date: String,
    pub published: u32,
    pub failed: u32,
}

pub struct AccountChart {
    pub id: String,
    pub name: String,
    pub platform: String,
    pub published: u32,
    pub failed: u32,
    pub svg: String,
    pub rows: Vec<DayRow>,
}

pub struct PostMetrics {
    pub label: String,
    pub account: String,
    pub url: Option<String>,
    pub values: Vec<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/analytics.html")]
struct AnalyticsPage {
    c: Chrome,
    days: u32,
    ranges: Vec<(u32, bool)>,
    accounts: Vec<AccountChart>,
    metric_names: Vec<String>,
    posts: Vec<PostMetrics>,
    posts_svg: String,
}

#[derive(Debug, Default, Deserialize)]
struct AnalyticsQuery {
    days: Option<u32>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Daily bars, published stacked on failed. Colours come from CSS classes
/// (the theme), the numbers are in the table under the chart.
pub fn daily_chart(title_id: &str, rows: &[DayRow]) -> String {
    let (width, height, pad) = (600.0_f64, 160.0_f64, 20.0_f64);
    let max = rows.iter().map(|r| r.published + r.failed).max().unwrap_or(0).max(1);
    let step = (width - pad) / rows.len().max(1) as f64;
    let bar = (step * 0.7).max(1.0);
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{title_id}" xmlns="http://www.w3.org/2000/svg">"#
    );
    svg.push_str(&format!(r#"<line class="axis" x1="{pad}" y1="{y}" x2="{width}" y2="{y}"/>"#, y = height - pad));
    svg.push_str(&format!(r#"<text x="0" y="12">{max}</text><text x="0" y="{}">0</text>"#, height - pad));
    for (i, row) in rows.iter().enumerate() {
        let x = pad + i as f64 * step;
        let scale = (height - 2.0 * pad) / f64::from(max);
        let ok = f64::from(row.published) * scale;
        let fail = f64::from(row.failed) * scale;
        let base = height - pad;
        if row.published > 0 {
            svg.push_str(&format!(
                r#"<rect class="bar-ok" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{ok:.1}"><title>{}: {} published</title></rect>"#,
                base - ok,
                row.date,
                row.published
            ));
        }
        if row.failed > 0 {
            svg.push_str(&format!(
                r#"<rect class="bar-fail" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{fail:.1}"><title>{}: {} failed</title></rect>"#,
                base - ok - fail,
                row.date,
                row.failed
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars: total engagement per post.
pub fn totals_chart(title_id: &str, items: &[(String, i64)]) -> String {
    let row_h = 26.0_f64;
    let height = row_h * items.len().max(1) as f64 + 10.0;
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 600 {height}" role="img" aria-labelledby="{title_id}" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, (label, value)) in items.iter().enumerate() {
        let y = 5.0 + i as f64 * row_h;
        let w = 300.0 * (*value as f64) / max as f64;
        svg.push_str(&format!(
            r#"<text x="0" y="{:.1}">{}</text><rect class="bar-ok" x="260" y="{y:.1}" width="{w:.1}" height="18"/><text x="{:.1}" y="{:.1}">{value}</text>"#,
            y + 14.0,
            escape(&excerpt(label, 36)),
            265.0 + w,
            y + 14.0
        ));
    }
    svg.push_str("</svg>");
    svg
}

async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    Query(q): Query<AnalyticsQuery>,
) -> UiResult<AnalyticsPage> {
    let days = q.days.filter(|d| [7, 30, 90].contains(d)).unwrap_or(30);
    let integrations = state.app.list_integrations(&viewer.caller).await?;
    let mut accounts = Vec::new();
    for integration in &integrations {
        let stats = state.app.integration_analytics(&viewer.caller, integration.id, Some(days)).await?;
        let rows: Vec<DayRow> = stats
            .daily
            .iter()
            .map(|d| DayRow { date: d.date.format("%-d %b").to_string(), published: d.published, failed: d.failed })
            .collect();
        let id = integration.id.to_string();
        accounts.push(AccountChart {
            svg: daily_chart(&format!("chart-{id}-h"), &rows),
            id,
            name: integration.name.clone(),
            platform: integration.platform.clone(),
            published: stats.published,
            failed: stats.failed,
            rows,
        });
    }

    let query =
        ListPostsQuery { status: Some(PostStatus::Published.as_str().into()), limit: Some(20), ..Default::default() };
    let published = state.app.list_posts(&viewer.caller, query).await?.posts;
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    let mut per_post = Vec::new();
    for post in &published {
        let analytics = state.app.post_analytics(&viewer.caller, post.id).await?;
        for target in analytics.targets {
            names.extend(target.metrics.keys().map(|k| (k.clone(), ())));
            per_post.push((excerpt(&post.content, 60), target));
        }
    }
    let metric_names: Vec<String> = names.into_keys().collect();
    let posts: Vec<PostMetrics> = per_post
        .iter()
        .map(|(label, t)| PostMetrics {
            label: label.clone(),
            account: t.integration_name.clone(),
            url: t.url.clone(),
            values: metric_names.iter().map(|m| t.metrics.get(m).copied().unwrap_or(0)).collect(),
        })
        .collect();
    let totals: Vec<(String, i64)> = posts.iter().map(|p| (p.label.clone(), p.values.iter().sum())).collect();
    Ok(AnalyticsPage {
        c: Chrome::new(&viewer, "analytics", "Analytics"),
        days,
        ranges: [7, 30, 90].iter().map(|d| (*d, *d == days)).collect(),
        accounts,
        posts_svg: totals_chart("posts-chart-h", &totals),
        metric_names,
        posts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_accessible_svg_without_inline_styles() {
        let rows = vec![
            DayRow { date: "1 Dec".into(), published: 2, failed: 1 },
            DayRow { date: "2 Dec".into(), published: 0, failed: 0 },
        ];
        let svg = daily_chart("t", &rows);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"aria-labelledby="t""#));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(!svg.contains("style="), "the CSP forbids inline styles");
        let bars = totals_chart("p", &[("<script>".into(), 3)]);
        assert!(bars.contains("&lt;script&gt;") && !bars.contains("<script>"));
    }
}
