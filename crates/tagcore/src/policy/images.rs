//! Which operations move each image of a unit.

use super::{PolicyError, UnitImage, err};
use crate::OperationKind;

const OPERATIONS: [OperationKind; 4] = [
    OperationKind::Publish,
    OperationKind::Promote,
    OperationKind::Rollback,
    OperationKind::Retag,
];

pub(super) fn image_operations(i: usize, ops: Option<&[String]>) -> Result<Vec<OperationKind>, PolicyError> {
    let Some(ops) = ops else {
        return Ok(OPERATIONS.to_vec());
    };
    let mut out = Vec::new();
    for (j, op) in ops.iter().enumerate() {
        let field = format!("images[{i}].operations[{j}]");
        let kind = OPERATIONS
            .into_iter()
            .find(|k| k.to_string() == *op)
            .ok_or_else(|| {
                err(
                    &field,
                    format!("{op:?} is not an operation; expected publish, promote, rollback or retag"),
                )
            })?;
        if out.contains(&kind) {
            return Err(err(field, format!("{op:?} is listed twice")));
        }
        out.push(kind);
    }
    if out.is_empty() {
        return Err(err(
            format!("images[{i}].operations"),
            "is empty; list the operations that move this image, or leave it out for all",
        ));
    }
    Ok(out)
}

/// Checks that every operation moves at least one image and that the primary takes part in
/// promote and rollback (its stamp and history name the release).
pub(super) fn check_operations(images: &[UnitImage]) -> Result<(), PolicyError> {
    for op in [OperationKind::Promote, OperationKind::Rollback] {
        if !images[0].takes_part(op) {
            return Err(err(
                "images[0].operations",
                format!("the primary image (the first) must take part in {op}"),
            ));
        }
    }
    for op in OPERATIONS {
        if !images.iter().any(|i| i.takes_part(op)) {
            return Err(err(
                format!("images[{}].operations", images.len() - 1),
                format!("no image takes part in {op}; at least one must"),
            ));
        }
    }
    Ok(())
}
