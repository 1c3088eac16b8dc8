//! `/calendar`: month, week, day and list views of scheduled and published
//! posts, in the viewer's time zone. View, date and filters live in the URL.
//! `calendar.js` adds drag and drop and keyboard moves; without it, the list
//! view has a move form per post. Drafts without a date wait in a panel
//! beside the calendar, each with a form that gives it one.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use herald_app::posts::{ListPostsQuery, UpdatePostInput};
use herald_app::views::PostView;
use herald_core::post::{PostStatus, TargetStatus};
use serde::Deserialize;

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiError, UiId, UiResult};
use crate::fmt;
use crate::pages::posts::Choice;
use crate::pages::see_other;
use crate::pages::view::{StatusLabel, excerpt};
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new().route("/calendar", get(calendar)).route("/calendar/move/{id}", post(move_post))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Month,
    Week,
    Day,
    List,
}

impl View {
    fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("week") => Self::Week,
            Some("day") => Self::Day,
            Some("list") => Self::List,
            _ => Self::Month,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Week => "week",
            Self::Day => "day",
            Self::List => "list",
        }
    }

    /// First and last (exclusive) local day shown around `date`.
    fn range(self, date: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Self::Month | Self::List => {
                let first = date.with_day(1).unwrap_or(date);
                let next = first.checked_add_months(chrono::Months::new(1)).unwrap_or(first);
                if self == Self::List {
                    return (first, next);
                }
                let start = first - Duration::days(i64::from(first.weekday().num_days_from_monday()));
                let end_pad = (7 - next.weekday().num_days_from_monday()) % 7;
                (start, next + Duration::days(i64::from(end_pad)))
            }
            Self::Week => {
                let start = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                (start, start + Duration::days(7))
            }
            Self::Day => (date, date + Duration::days(1)),
        }
    }

    /// The date one step back or forward.
    fn step(self, date: NaiveDate, forward: bool) -> NaiveDate {
        let months = chrono::Months::new(1);
        match (self, forward) {
            (Self::Month | Self::List, true) => date.checked_add_months(months).unwrap_or(date),
            (Self::Month | Self::List, false) => date.checked_sub_months(months).unwrap_or(date),
            (Self::Week, true) => date + Duration::days(7),
            (Self::Week, false) => date - Duration::days(7),
            (Self::Day, true) => date + Duration::days(1),
            (Self::Day, false) => date - Duration::days(1),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct CalendarQuery {
    view: Option<String>,
    date: Option<String>,
    integration: Option<String>,
    status: Option<String>,
    /// Only one customer's accounts.
    customer: Option<String>,
    tag: Option<String>,
    notice: Option<String>,
}

impl CalendarQuery {
    /// The filters shared by every read of the page.
    fn filters(&self) -> ListPostsQuery {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        ListPostsQuery {
            integration: some(&self.integration),
            status: some(&self.status),
            customer: some(&self.customer),
            tag: some(&self.tag),
            ..ListPostsQuery::default()
        }
    }
}

pub struct Chip {
    pub id: String,
    pub time: String,
    pub label: String,
    pub platform: String,
    pub status: PostStatus,
    pub status_label: &'static str,
    pub movable: bool,
    /// `datetime-local` value of its time, for the move form.
    pub at: String,
    pub accounts: String,
    /// (name, `#rrggbb`) of its tags that have a colour.
    pub tags: Vec<(String, String)>,
}

pub struct Day {
    pub date: String,
    pub label: String,
    pub long_label: String,
    pub in_range: bool,
    pub today: bool,
    pub chips: Vec<Chip>,
    /// Chips by hour (week and day views).
    pub hours: Vec<Vec<Chip>>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/calendar.html")]
struct CalendarPage {
    c: Chrome,
    view: &'static str,
    heading: String,
    date: String,
    prev: String,
    next: String,
    today: String,
    days: Vec<Day>,
    views: Vec<(String, &'static str, bool)>,
    integrations: Vec<Choice>,
    statuses: Vec<Choice>,
    customers: Vec<Choice>,
    tags: Vec<Choice>,
    legend: Vec<(String, String)>,
    rows: Vec<HourRow>,
    empty: bool,
    /// Drafts without a date (the "Drafts without a date" panel).
    undated: Vec<Chip>,
    /// Where a form sends the viewer back to: this very view.
    here: String,
    /// Where the keyboard puts an undated draft: the shown date, 09:00.
    place_at: String,
    place_label: String,
}

/// One hour across the shown days (week and day views).
pub struct HourRow {
    pub label: String,
    pub cells: Vec<HourCell>,
}

pub struct HourCell {
    pub date: String,
    pub long_label: String,
    pub at: String,
    pub chips: Vec<Chip>,
}

fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&naive).earliest().map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
}

/// A month holds at most a few hundred posts; 1,000 bounds the page.
const POSTS_SHOWN: u64 = 1000;

async fn posts_between(
    state: &UiState,
    viewer: &Viewer,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filters: ListPostsQuery,
) -> UiResult<Vec<PostView>> {
    let query = ListPostsQuery { from: Some(from.to_rfc3339()), to: Some(to.to_rfc3339()), ..filters };
    Ok(state.app.posts_for_view(&viewer.caller, query, false, POSTS_SHOWN).await?)
}

/// Undated drafts shown at most: the panel is a reminder, `/posts` has them all.
const UNDATED_SHOWN: u64 = 50;

/// Drafts without a date, newest first.
async fn undated_drafts(state: &UiState, viewer: &Viewer, filters: ListPostsQuery) -> UiResult<Vec<PostView>> {
    let query = ListPostsQuery { status: Some(PostStatus::Draft.as_str().into()), ..filters };
    Ok(state.app.posts_for_view(&viewer.caller, query, true, UNDATED_SHOWN).await?)
}

/// A post as the calendar shows it; `at` is its time, none for an undated draft.
fn chip(post: &PostView, at: Option<DateTime<Utc>>, tz: Tz, colours: &[(String, String)]) -> Chip {
    let live: Vec<_> = post.targets.iter().filter(|t| t.status != TargetStatus::Cancelled).collect();
    Chip {
        id: post.id.to_string(),
        time: at.map(|at| at.with_timezone(&tz).format("%H:%M").to_string()).unwrap_or_default(),
        label: excerpt(&post.content, 40),
        platform: live.first().map_or_else(|| "none".to_string(), |t| t.platform.clone()),
        status: post.status,
        status_label: post.status.label(),
        movable: matches!(post.status, PostStatus::Draft | PostStatus::Scheduled),
        at: at.map(|at| fmt::input_value(at, tz)).unwrap_or_default(),
        accounts: live.iter().map(|t| t.integration_name.as_str()).collect::<Vec<_>>().join(", "),
        tags: post.tags.iter().filter_map(|name| colours.iter().find(|(n, _)| n == name).cloned()).collect(),
    }
}

fn link(view: View, date: NaiveDate, query: &CalendarQuery) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    url.append_pair("view", view.as_str()).append_pair("date", &date.format("%Y-%m-%d").to_string());
    if let Some(i) = query.integration.as_deref().filter(|s| !s.is_empty()) {
        url.append_pair("integration", i);
    }
    if let Some(s) = query.status.as_deref().filter(|s| !s.is_empty()) {
        url.append_pair("status", s);
    }
    if let Some(c) = query.customer.as_deref().filter(|s| !s.is_empty()) {
        url.append_pair("customer", c);
    }
    if let Some(t) = query.tag.as_deref().filter(|s| !s.is_empty()) {
        url.append_pair("tag", t);
    }
    format!("/calendar?{}", url.finish())
}

async fn calendar(
    State(state): State<UiState>,
    viewer: Viewer,
    Query(query): Query<CalendarQuery>,
) -> UiResult<CalendarPage> {
    let tz = viewer.tz;
    let view = View::parse(query.view.as_deref());
    let today = Utc::now().with_timezone(&tz).date_naive();
    let date = query.date.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).unwrap_or(today);
    let (start, end) = view.range(date);
    let status = query.status.clone().filter(|s| !s.is_empty());
    // Undated drafts only belong to a view that shows drafts.
    let undated = match status.as_deref().map(PostStatus::parse) {
        None | Some(Some(PostStatus::Draft)) => undated_drafts(&state, &viewer, query.filters()).await?,
        Some(_) => Vec::new(),
    };
    let posts =
        posts_between(&state, &viewer, local_midnight(start, tz), local_midnight(end, tz), query.filters()).await?;
    let integrations = state.app.list_integrations(&viewer.caller).await?;
    let customers = state.app.list_customers(&viewer.caller).await?;
    let tags = state.app.list_tags(&viewer.caller).await?;
    let colours: Vec<(String, String)> = tags.iter().map(|t| (t.name.clone(), t.color.clone())).collect();

    let mut days: Vec<Day> = Vec::new();
    let mut day = start;
    while day < end {
        days.push(Day {
            date: day.format("%Y-%m-%d").to_string(),
            label: if day.day() == 1 { day.format("%-d %b").to_string() } else { day.format("%-d").to_string() },
            long_label: day.format("%A %-d %B").to_string(),
            in_range: view != View::Month || day.month() == date.month(),
            today: day == today,
            chips: Vec::new(),
            hours: (0..24).map(|_| Vec::new()).collect(),
        });
        day += Duration::days(1);
    }
    let mut sorted: Vec<&PostView> = posts.iter().filter(|p| p.scheduled_for.is_some()).collect();
    sorted.sort_by_key(|p| p.scheduled_for);
    let empty = sorted.is_empty();
    for post in sorted {
        let Some(at) = post.scheduled_for.or(post.published_at) else { continue };
        let local = at.with_timezone(&tz);
        let key = local.date_naive().format("%Y-%m-%d").to_string();
        let Some(slot) = days.iter_mut().find(|d| d.date == key) else { continue };
        let chip = chip(post, Some(at), tz, &colours);
        let hour = local.hour() as usize;
        if view == View::Week || view == View::Day {
            if let Some(bucket) = slot.hours.get_mut(hour) {
                bucket.push(chip);
            }
        } else {
            slot.chips.push(chip);
        }
    }
    let heading = match view {
        View::Month | View::List => date.format("%B %Y").to_string(),
        View::Week => format!("Week of {}", start.format("%-d %B %Y")),
        View::Day => date.format("%A %-d %B %Y").to_string(),
    };
    let views = [View::Month, View::Week, View::Day, View::List]
        .iter()
        .map(|v| (link(*v, date, &query), label_of(*v), *v == view))
        .collect();
    let rows = (0..24)
        .map(|hour| HourRow {
            label: format!("{hour:02}:00"),
            cells: days
                .iter_mut()
                .map(|d| HourCell {
                    date: d.date.clone(),
                    long_label: d.long_label.clone(),
                    at: format!("{}T{hour:02}:00", d.date),
                    chips: d.hours.get_mut(hour).map(std::mem::take).unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    let selected_integration = query.integration.clone().unwrap_or_default();
    let selected_status = query.status.clone().unwrap_or_default();
    let selected_customer = query.customer.clone().unwrap_or_default();
    let selected_tag = query.tag.clone().unwrap_or_default();
    Ok(CalendarPage {
        c: Chrome::new(&viewer, "calendar", "Calendar").with_notice(query.notice.as_deref()),
        view: view.as_str(),
        heading,
        date: date.format("%Y-%m-%d").to_string(),
        prev: link(view, view.step(date, false), &query),
        next: link(view, view.step(date, true), &query),
        today: link(view, today, &query),
        days,
        views,
        integrations: std::iter::once(Choice { value: String::new(), label: "All accounts".into(), selected: false })
            .chain(integrations.iter().map(|i| Choice {
                value: i.id.to_string(),
                label: i.name.clone(),
                selected: selected_integration == i.id.to_string(),
            }))
            .collect(),
        statuses: std::iter::once(Choice {
            value: String::new(),
            label: "Any status".into(),
            selected: selected_status.is_empty(),
        })
        .chain(
            [
                (PostStatus::Draft, "Drafts"),
                (PostStatus::Scheduled, "Scheduled"),
                (PostStatus::Published, "Published"),
                (PostStatus::Failed, "Failed"),
            ]
            .iter()
            .map(|(status, label)| Choice {
                value: status.as_str().into(),
                label: (*label).into(),
                selected: selected_status == status.as_str(),
            }),
        )
        .collect(),
        customers: std::iter::once(Choice { value: String::new(), label: "All customers".into(), selected: false })
            .chain(customers.iter().map(|c| Choice {
                value: c.id.to_string(),
                label: c.name.clone(),
                selected: selected_customer == c.id.to_string(),
            }))
            .collect(),
        tags: std::iter::once(Choice { value: String::new(), label: "Any tag".into(), selected: false })
            .chain(tags.iter().map(|t| Choice {
                value: t.name.clone(),
                label: t.name.clone(),
                selected: selected_tag == t.name,
            }))
            .collect(),
        legend: integrations.iter().map(|i| (i.platform.clone(), i.name.clone())).collect(),
        rows,
        empty,
        undated: undated.iter().map(|post| chip(post, None, tz, &colours)).collect(),
        here: link(view, date, &query),
        place_at: format!("{}T09:00", date.format("%Y-%m-%d")),
        place_label: date.format("%A %-d %B").to_string(),
    })
}

fn label_of(view: View) -> &'static str {
    match view {
        View::Month => "Month",
        View::Week => "Week",
        View::Day => "Day",
        View::List => "List",
    }
}

#[derive(Debug, Deserialize)]
struct MoveForm {
    at: String,
    back: Option<String>,
}

/// The no-script and keyboard way to reschedule: a time, then "Move".
async fn move_post(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(form): Form<MoveForm>,
) -> UiResult<Response> {
    let at = fmt::parse_local(&form.at, viewer.tz)
        .ok_or_else(|| UiError::Forbidden(format!("`{}` is not a time in {}", form.at, viewer.tz.name())))?;
    let update = UpdatePostInput { scheduled_for: Some(Some(at.to_rfc3339())), ..Default::default() };
    if let Err(error) = state.app.update_post(&viewer.caller, id, update).await {
        let errors = FieldErrors::from_app(error)?;
        let message = errors.general.or_else(|| errors.fields.first().map(|(f, m)| format!("{f}: {m}")));
        return Err(UiError::Forbidden(message.unwrap_or_else(|| "this post cannot be moved".into())));
    }
    let back = form.back.filter(|b| b.starts_with("/calendar")).unwrap_or_else(|| "/calendar".into());
    let separator = if back.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!("{back}{separator}notice=moved")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_view_covers_whole_weeks() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let (start, end) = View::Month.range(date);
        assert_eq!(start, NaiveDate::from_ymd_opt(2026, 10, 26).unwrap(), "the Monday before 1 November");
        assert_eq!(end, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        assert_eq!((end - start).num_days() % 7, 0);
        let (ws, we) = View::Week.range(date);
        assert_eq!(ws.weekday(), chrono::Weekday::Mon);
        assert_eq!((we - ws).num_days(), 7);
        assert_eq!(View::Month.step(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(), true).month(), 2);
    }
}
