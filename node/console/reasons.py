"""Every refusal the protocol can give, in words a person reads, in four languages.

The protocol names a reason code and the field; the console shows the
field's message in the person's language. The English sentences below are
the catalogue's source strings; ``tests/console`` fails if a reason code has
no sentence here or a sentence has no translation in any language.
"""

from __future__ import annotations

from baliza.node.console.i18n import N_, Formatter
from baliza.node.http.routes import CSRF_FIELD
from baliza.protocol.errors import BalizaError, ReasonCode

MESSAGES: dict[ReasonCode, str] = {
    ReasonCode.MALFORMED: N_("This could not be read."),
    ReasonCode.TOO_LARGE: N_("This is too large."),
    ReasonCode.TOO_DEEP: N_("This is nested too deeply."),
    ReasonCode.TOO_MANY_ITEMS: N_("This has too many items."),
    ReasonCode.NON_CANONICAL: N_("This is not in the expected order or form."),
    ReasonCode.DUPLICATE_KEY: N_("A field appears twice."),
    ReasonCode.TRAILING_BYTES: N_("There is extra data at the end."),
    ReasonCode.FLOAT_FORBIDDEN: N_("Use a whole number, not a decimal."),
    ReasonCode.UNSUPPORTED_TYPE: N_("This type of value is not allowed."),
    ReasonCode.UNKNOWN_VERSION: N_("This format version is not known."),
    ReasonCode.UNKNOWN_KIND: N_("This kind of notice is not known."),
    ReasonCode.UNKNOWN_FIELD: N_("This field is not known."),
    ReasonCode.MISSING_FIELD: N_("This field is required."),
    ReasonCode.WRONG_TYPE: N_("This value has the wrong type."),
    ReasonCode.OUT_OF_RANGE: N_("This value is out of range."),
    ReasonCode.BAD_LENGTH: N_("This value is too short or too long."),
    ReasonCode.BAD_ENUM: N_("Choose one of the values offered."),
    ReasonCode.BAD_FORMAT: N_("This value is not in the expected format."),
    ReasonCode.NOT_NFC: N_("This text is not in normalised (NFC) form."),
    ReasonCode.FORMAT_CHARACTER: N_(
        "This text holds an invisible formatting character (such as a right-to-left mark "
        "or a zero-width space): delete it and type the text again."
    ),
    ReasonCode.BAD_COUNTRY: N_("This is not an ISO 3166 country code."),
    ReasonCode.BAD_LOCODE: N_("This is not a UN/LOCODE (two letters of country, three of place)."),
    ReasonCode.BAD_AIRPORT: N_("This is not a known IATA airport code."),
    ReasonCode.BAD_CONTAINER: N_(
        "This is not a valid container number (ISO 6346: four letters, seven digits, "
        "the last one a check digit)."
    ),
    ReasonCode.BAD_IMO: N_("This is not a valid IMO ship number (seven digits with check digit)."),
    ReasonCode.BAD_AWB: N_("This is not a valid air waybill number (eleven digits, check digit)."),
    ReasonCode.BAD_FLIGHT: N_(
        "This is not a flight number (airline code and number, e.g. IB6011)."
    ),
    ReasonCode.BAD_AGENCY_ID: N_("This is not an agency identifier."),
    ReasonCode.BAD_LANGUAGE: N_("This is not a language tag (e.g. es, pt-BR)."),
    ReasonCode.BAD_CURRENCY: N_("This is not an ISO 4217 currency code."),
    ReasonCode.BAD_ENVELOPE_ID: N_("This is not a notice identifier."),
    ReasonCode.INCONSISTENT: N_("This does not agree with another field."),
    ReasonCode.UNKNOWN_SUITE: N_("This cryptographic suite is not known."),
    ReasonCode.BAD_SIGNATURE: N_("The signature does not verify."),
    ReasonCode.MISSING_SIGNATURE: N_("A signature is missing."),
    ReasonCode.UNEXPECTED_SIGNATURE: N_("A signature was not expected here."),
    ReasonCode.REQUEST_SCHEME_UNSUPPORTED: N_(
        "The partner node signs its requests the old way: both nodes must run the same version."
    ),
    ReasonCode.SUITE_MISMATCH: N_("The cryptographic suites do not match."),
    ReasonCode.BAD_KEY: N_("This key is not valid."),
    ReasonCode.KEY_ID_MISMATCH: N_("The key identifier does not match the key."),
    ReasonCode.UNKNOWN_KEY: N_("This key is not known."),
    ReasonCode.UNKNOWN_SENDER: N_("The sender is not a known member."),
    ReasonCode.NOT_A_RECIPIENT: N_("This node is not a recipient."),
    ReasonCode.DECRYPT_FAILED: N_("The notice could not be decrypted."),
    ReasonCode.KEY_COMMITMENT_MISMATCH: N_("The key commitment does not match."),
    ReasonCode.KIND_MISMATCH: N_("The kind of notice does not match its envelope."),
    ReasonCode.KEY_REVOKED: N_("This key has been revoked."),
    ReasonCode.KEY_EXPIRED: N_("This key has expired."),
    ReasonCode.KEY_NOT_YET_VALID: N_("This key is not valid yet."),
    ReasonCode.SENDER_BLOCKED: N_("This sender is blocked here."),
    ReasonCode.REPLAY: N_("This was already received."),
    ReasonCode.STALE: N_("This is too old or too far in the future."),
    ReasonCode.WRONG_DESTINATION: N_("This was meant for another node."),
    ReasonCode.BAD_PASSPHRASE: N_("The passphrase is wrong."),
    ReasonCode.DIRECTORY_ROLLBACK: N_("This directory is older than the one in force."),
    ReasonCode.DIRECTORY_EXPIRED: N_("This directory has expired."),
    ReasonCode.DIRECTORY_THRESHOLD: N_("This directory lacks enough administrator signatures."),
    ReasonCode.DIRECTORY_MISMATCH: N_("This directory does not match the pinned fingerprint."),
    ReasonCode.NOT_AN_ADMINISTRATOR: N_("The signer is not a federation administrator."),
    ReasonCode.NOT_A_MEMBER: N_("This agency is not a member of the federation."),
    ReasonCode.REVOCATION_WITHDRAWN: N_("A revocation cannot be withdrawn."),
    ReasonCode.BUSY: N_("The node is busy: try again in a moment."),
    ReasonCode.TIMEOUT: N_("This took too long to arrive."),
    ReasonCode.SIGN_IN_THROTTLED: N_(
        "Too many failed sign-ins with this token or from this place: wait a quarter "
        "of an hour and try again."
    ),
    ReasonCode.NODE_UNREACHABLE: N_("This node cannot be reached: is `baliza serve` running?"),
    ReasonCode.HANDLING_FORBIDS: N_("The handling of this notice forbids sharing it this way."),
    ReasonCode.PERMISSION_REFUSED: N_("The originator refused permission to share this notice."),
    ReasonCode.NOMINAL_NOT_ALLOWED: N_(
        "Nominal data (persons, companies, documents) may not go to these recipients."
    ),
    ReasonCode.REPUBLISH_FORBIDDEN: N_(
        "This is another agency's notice: share it, do not publish it as your own."
    ),
    ReasonCode.FOREIGN_SUPERSEDES: N_("Only the sender of a notice may correct or retract it."),
    ReasonCode.AUDIT_PROOF_FAILED: N_("The audit log's proof does not verify."),
    ReasonCode.AUDIT_EQUIVOCATION: N_(
        "This node signed two different audit logs: both signed heads are kept as evidence."
    ),
    ReasonCode.AUDIT_ROLLBACK: N_(
        "This node's audit log went back to an earlier state: both signed heads are kept."
    ),
    ReasonCode.MEMBERSHIP_MISMATCH: N_("This membership belongs to another channel or kind."),
    ReasonCode.MEMBERSHIP_THRESHOLD: N_("Not enough channel owners have signed this change."),
    ReasonCode.MEMBERSHIP_FORK: N_(
        "Another member list with the same version is already in force."
    ),
    ReasonCode.MEMBERSHIP_ROLLBACK: N_("This member list is older than the one in force."),
    ReasonCode.MEMBERSHIP_EXPIRED: N_(
        "The channel's member list has expired: its owners must sign a new one."
    ),
    ReasonCode.MEMBERSHIP_UNKNOWN: N_(
        "This node does not yet know that version of the channel; it will be sent again."
    ),
    ReasonCode.MEMBERSHIP_STALE: N_(
        "This was sealed for an outdated member list; it is sealed again for the current members."
    ),
    ReasonCode.CHANNEL_CONFLICT: N_(
        "Another channel was founded under this id: it contradicts the one this node holds. "
        "This is raised as an alarm."
    ),
    ReasonCode.CHANNEL_UNFOUNDED: N_(
        "This node does not hold this channel: it takes one only from its first version, "
        "signed by its founders. This is raised as an alarm."
    ),
    ReasonCode.CHANNEL_UNDER_ALARM: N_(
        "Sending to this channel is paused: another version of it was offered to this node. "
        "An administrator must keep or replace the channel held."
    ),
    ReasonCode.NOT_AN_OWNER: N_("Only an owner of the channel may do this."),
    ReasonCode.WRONG_CHANNEL: N_(
        "This notice may not travel in this channel: case notices stay inside their JIT."
    ),
    ReasonCode.PROPOSAL_UNCONFIRMED: N_(
        "Read the changes of the proposal and tick that you have read them before signing."
    ),
    ReasonCode.PROPOSAL_CHANGE_NOT_NAMED: N_(
        "This proposal lowers the threshold or removes your agency as an owner: "
        "tick each of these changes to sign it."
    ),
    ReasonCode.BAD_CONFIG: N_("The node's configuration is not valid."),
    ReasonCode.NOT_FOUND: N_("Not found."),
    ReasonCode.CONFLICT: N_("This conflicts with what is already stored."),
    ReasonCode.UNAUTHENTICATED: N_("The token is unknown or revoked."),
    ReasonCode.FORBIDDEN: N_("Your role does not allow this."),
    ReasonCode.UNSUPPORTED_MEDIA: N_("This type of content is not accepted."),
    ReasonCode.STORAGE_FAILED: N_("The node could not store this; try again."),
    ReasonCode.PEER_UNREACHABLE: N_("The partner node cannot be reached."),
    ReasonCode.PEER_REFUSED: N_("The partner node refused this."),
    ReasonCode.WEAK_PASSWORD: N_(
        "The password must have at least 12 characters and must not be the login name."
    ),
    ReasonCode.SIGN_COUNT_BACKWARDS: N_(
        "This security key's counter went backwards: it may have been copied. It was refused."
    ),
}


# A form without the session's token is refused as FORBIDDEN like a missing
# role, but the person needs to hear something else: reload and try again.
CSRF_MESSAGE = N_(
    "This form has expired or did not come from this console; reload the page and try again."
)

# An export holding TLP:RED is refused until the person confirms it: say how.
RED_EXPORT_MESSAGE = N_(
    "This export holds TLP:RED notices. Tick that the file stays with the people who "
    "received them, or narrow the filters to leave them out."
)


def explain(err: BalizaError, fmt: Formatter) -> str:
    """The refusal ``err`` in the person's language."""
    if err.reason is ReasonCode.FORBIDDEN and err.path == CSRF_FIELD:
        return fmt.gettext(CSRF_MESSAGE)
    if err.reason is ReasonCode.HANDLING_FORBIDS and err.path == "confirm_red":
        return fmt.gettext(RED_EXPORT_MESSAGE)
    return fmt.gettext(MESSAGES[err.reason])
