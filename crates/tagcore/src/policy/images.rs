//! Which operations move each image of a unit.

use super::lists::Operations;
use super::{ImageSpec, PolicyError, err};
use crate::{OperationKind, Repository};

/// One image of a release unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitImage {
    /// Where the image lives.
    pub repository: Repository,
    /// Whether prod writes need a verified signature.
    pub verify: bool,
    /// The operations that move this image.
    pub operations: Vec<OperationKind>,
    /// Whether publish writes the staging stamp for this image.
    pub staging_stamp: bool,
}

impl UnitImage {
    /// Returns whether `op` moves this image.
    pub fn takes_part(&self, op: OperationKind) -> bool {
        self.operations.contains(&op)
    }
}

const OPERATIONS: [OperationKind; 4] = [
    OperationKind::Publish,
    OperationKind::Promote,
    OperationKind::Rollback,
    OperationKind::Retag,
];

/// Returns the operations image `i` takes part in: all of them when the list is left out.
pub(super) fn image_operations(i: usize, ops: Option<&[String]>) -> Result<Vec<OperationKind>, PolicyError> {
    let Some(ops) = ops else {
        return Ok(OPERATIONS.to_vec());
    };
    let vocabulary = Operations {
        allowed: &OPERATIONS,
        what: "an operation",
        expected: "publish, promote, rollback or retag",
    };
    let out = vocabulary.parse(&format!("images[{i}].operations"), ops)?;
    if out.is_empty() {
        return Err(err(
            format!("images[{i}].operations"),
            "is empty; list the operations that move this image, or leave it out for all",
        ));
    }
    Ok(out)
}

/// Returns the unit's images, each repository once, with the operations each takes part in.
pub(super) fn images(specs: &[ImageSpec]) -> Result<Vec<UnitImage>, PolicyError> {
    if specs.is_empty() {
        return Err(err(
            "images",
            "a unit needs at least one image; the first is the primary",
        ));
    }
    let mut images = Vec::new();
    for (i, img) in specs.iter().enumerate() {
        let field = format!("images[{i}].repository");
        let repository: Repository = img.repository.parse().map_err(|e| err(&field, format!("{e}")))?;
        if images.iter().any(|x: &UnitImage| x.repository == repository) {
            return Err(err(field, format!("repository {repository} is listed twice")));
        }
        images.push(UnitImage {
            repository,
            verify: img.verify,
            operations: image_operations(i, img.operations.as_deref())?,
            staging_stamp: img.staging_stamp,
        });
    }
    check_operations(&images)?;
    Ok(images)
}

/// Checks that every operation moves at least one image and that the primary takes part in
/// promote and rollback (its stamp and history name the release).
fn check_operations(images: &[UnitImage]) -> Result<(), PolicyError> {
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
