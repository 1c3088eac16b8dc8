//! Files from the composer's form: alt texts typed beside attached files,
//! and files chosen without JavaScript (stored before anything else).

use herald_app::AppError;
use uuid::Uuid;

use super::form::{Draft, PendingFile};
use crate::UiState;
use crate::chrome::FieldErrors;
use crate::error::UiResult;
use crate::session::Viewer;

/// A use-case error as field errors, all placed at `field` (an upload's
/// `file` is the media box here); `Err` for errors a form cannot show.
pub fn errors_at(field: &str, error: AppError) -> Result<FieldErrors, AppError> {
    let mut errors = FieldErrors::from_app(error)?;
    errors.fields.iter_mut().for_each(|(f, _)| *f = field.to_string());
    Ok(errors)
}

pub fn merge(into: &mut FieldErrors, more: FieldErrors) {
    into.fields.extend(more.fields);
    into.general = into.general.take().or(more.general);
}

/// Saves alt texts changed beside attached files. They belong to the files,
/// not to the post, so they are saved whatever the button.
pub async fn save_alt_texts(state: &UiState, viewer: &Viewer, draft: &Draft) -> UiResult<FieldErrors> {
    let mut errors = FieldErrors::default();
    if draft.alt_texts.is_empty() {
        return Ok(errors);
    }
    let ids: Vec<Uuid> = draft.alt_texts.keys().copied().collect();
    for media in state.app.media_by_ids(&viewer.caller, &ids).await? {
        let typed = draft.alt_texts.get(&media.id).map_or("", |t| t.trim());
        if typed == media.alt_text.as_deref().unwrap_or_default().trim() {
            continue;
        }
        let alt = Some(typed.to_string()).filter(|a| !a.is_empty());
        if let Err(error) = state.app.update_media_alt_text(&viewer.caller, media.id, alt).await {
            merge(&mut errors, errors_at(&format!("media_alt.{}", media.id), error)?);
        }
    }
    Ok(errors)
}

/// Stores files chosen without JavaScript and attaches each to its item.
pub async fn store_files(
    state: &UiState,
    viewer: &Viewer,
    draft: &mut Draft,
    files: Vec<PendingFile>,
) -> UiResult<FieldErrors> {
    let mut errors = FieldErrors::default();
    for file in files {
        let (field, alt) = match file.reply {
            None => ("media".to_string(), Some(draft.media_alt.trim().to_string()).filter(|a| !a.is_empty())),
            Some(i) => (format!("thread[{i}].mediaIds"), None),
        };
        match state.app.upload_media(&viewer.caller, file.bytes, alt).await {
            Ok(media) => match file.reply.and_then(|i| draft.thread.get_mut(i)) {
                Some(reply) => reply.media.push(media.id),
                None => {
                    draft.media.push(media.id);
                    draft.media_alt.clear();
                }
            },
            Err(error) => merge(&mut errors, errors_at(&field, error)?),
        }
    }
    Ok(errors)
}
