// imap_command_fetch.cpp: the FETCH grammar (see imap_command.h): data items, the ALL, FAST
// and FULL macros, sections, partials and the RFC 7162 modifiers.
// RFC 9051 6.4.5, 9 (fetch, fetch-att, section, section-spec, section-part, section-text,
// header-list, partial, section-binary); RFC 3501 6.4.5 (RFC822, RFC822.HEADER, RFC822.TEXT);
// RFC 3516 4 (BINARY, BINARY.PEEK, BINARY.SIZE); RFC 7162 3.1.4.1 (CHANGEDSINCE), 3.2.6
// (VANISHED, UID FETCH only, with CHANGEDSINCE), 3.1.5 (MODSEQ); RFC 8474 5 (EMAILID,
// THREADID); RFC 8514 3 (SAVEDATE); RFC 8970 3 (PREVIEW [(LAZY)]).
#include "imapd/imap_command_parser.h"

namespace hikyaku::imap::detail {
namespace {

bool is_item_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.';
}

bool is_word_char(char c) { return is_atom_char(c); }

FetchItem simple(FetchAttribute attribute) {
    FetchItem item;
    item.attribute = attribute;
    return item;
}

}  // namespace

// section = "[" [section-spec] "]"; section-binary = "[" [section-part] "]"
bool Parser::section(Section& out, bool binary) {
    if (!lex.take('[')) return fail("expected \"[\"");
    if (lex.take(']')) return true;
    bool after_part = false;
    if (lex.peek() >= '0' && lex.peek() <= '9') {
        while (true) {
            auto n = lex.nz_number();
            if (!n) return fail_lex("invalid section part number");
            if (out.part.size() >= limits.max_section_parts) return fail_limit("section nested too deeply");
            out.part.push_back(*n);
            if (!lex.take('.')) break;
            if (!(lex.peek() >= '0' && lex.peek() <= '9')) {
                after_part = true;
                break;
            }
        }
        if (!after_part) {
            if (!lex.take(']')) return fail("expected \"]\" after the section part");
            return true;
        }
    }
    if (binary) return fail("BINARY sections take part numbers only");
    // section-msgtext / "MIME" after a part
    if (lex.take_word("HEADER.FIELDS.NOT", is_item_char)) {
        out.text = SectionText::header_fields_not;
    } else if (lex.take_word("HEADER.FIELDS", is_item_char)) {
        out.text = SectionText::header_fields;
    } else if (lex.take_word("HEADER", is_item_char)) {
        out.text = SectionText::header;
    } else if (lex.take_word("TEXT", is_item_char)) {
        out.text = SectionText::text;
    } else if (after_part && lex.take_word("MIME", is_item_char)) {
        out.text = SectionText::mime;
    } else {
        return fail("invalid section " + quote_for_error(lex.take_while(is_item_char)));
    }
    if (out.text == SectionText::header_fields || out.text == SectionText::header_fields_not) {
        // header-list = "(" header-fld-name *(SP header-fld-name) ")"
        if (!sp() || !lex.take('(')) return fail("expected \"(\" before the header field names");
        while (true) {
            std::string name;
            if (!astring(name, "a header field name")) return false;
            if (name.empty()) return fail("empty header field name");
            if (out.fields.size() >= limits.max_header_field_names) return fail_limit("too many header field names");
            out.fields.push_back(std::move(name));
            if (lex.take(')')) break;
            if (!sp()) return false;
        }
    }
    if (!lex.take(']')) return fail("expected \"]\" after the section");
    return true;
}

bool Parser::fetch_item(std::vector<FetchItem>& out) {
    if (out.size() >= limits.max_fetch_items) return fail_limit("too many FETCH data items");
    const std::string name = ascii_upper(lex.take_while(is_item_char));
    static constexpr std::pair<std::string_view, FetchAttribute> kPlain[] = {
        {"ENVELOPE", FetchAttribute::envelope},
        {"FLAGS", FetchAttribute::flags},
        {"INTERNALDATE", FetchAttribute::internal_date},
        {"RFC822.SIZE", FetchAttribute::rfc822_size},
        {"BODYSTRUCTURE", FetchAttribute::body_structure},
        {"UID", FetchAttribute::uid},
        {"MODSEQ", FetchAttribute::modseq},
        {"RFC822", FetchAttribute::rfc822},
        {"RFC822.HEADER", FetchAttribute::rfc822_header},
        {"RFC822.TEXT", FetchAttribute::rfc822_text},
        {"EMAILID", FetchAttribute::emailid},
        {"THREADID", FetchAttribute::threadid},
        {"SAVEDATE", FetchAttribute::savedate},
    };
    for (const auto& [word, attribute] : kPlain) {
        if (name == word) {
            out.push_back(simple(attribute));
            return true;
        }
    }
    FetchItem item;
    if (name == "PREVIEW") {
        // preview-mod = "LAZY" (RFC 8970 3, the only modifier defined)
        item.attribute = FetchAttribute::preview;
        if (lex.take_word(" (LAZY)", is_word_char)) item.peek = true;
        out.push_back(std::move(item));
        return true;
    }
    if (name == "BODY" || name == "BODY.PEEK") {
        if (lex.peek() != '[') {
            if (name == "BODY.PEEK") return fail("BODY.PEEK needs a section");
            out.push_back(simple(FetchAttribute::body));
            return true;
        }
        item.attribute = FetchAttribute::body_section;
        item.peek = name == "BODY.PEEK";
        if (!section(item.section, false)) return false;
    } else if (name == "BINARY" || name == "BINARY.PEEK" || name == "BINARY.SIZE") {
        item.attribute = name == "BINARY.SIZE" ? FetchAttribute::binary_size : FetchAttribute::binary;
        item.peek = name == "BINARY.PEEK";
        if (!section(item.section, true)) return false;
        if (item.attribute == FetchAttribute::binary_size) {
            out.push_back(std::move(item));
            return true;
        }
    } else {
        return fail("unknown FETCH data item " + quote_for_error(name));
    }
    // partial = "<" number64 "." nz-number64 ">"
    if (lex.take('<')) {
        Partial partial;
        auto offset = lex.number64();
        if (!offset || !lex.take('.')) return fail_lex("invalid partial (expected <offset.length>)");
        auto length = lex.number64();
        if (!length || *length == 0) return fail_lex("invalid partial length");
        if (!lex.take('>')) return fail("expected \">\" after the partial");
        partial.offset = *offset;
        partial.length = *length;
        item.partial = partial;
    }
    out.push_back(std::move(item));
    return true;
}

bool Parser::fetch(FetchArgs& out, bool uid) {
    if (!sp() || !sequence_set(out.set) || !sp()) return false;
    if (lex.take('(')) {
        while (true) {
            if (!fetch_item(out.items)) return false;
            if (lex.take(')')) break;
            if (!sp()) return false;
        }
    } else if (lex.take_word("ALL", is_word_char)) {  // RFC 9051 6.4.5 macros
        out.items = {simple(FetchAttribute::flags), simple(FetchAttribute::internal_date),
                     simple(FetchAttribute::rfc822_size), simple(FetchAttribute::envelope)};
    } else if (lex.take_word("FAST", is_word_char)) {
        out.items = {simple(FetchAttribute::flags), simple(FetchAttribute::internal_date),
                     simple(FetchAttribute::rfc822_size)};
    } else if (lex.take_word("FULL", is_word_char)) {
        out.items = {simple(FetchAttribute::flags), simple(FetchAttribute::internal_date),
                     simple(FetchAttribute::rfc822_size), simple(FetchAttribute::envelope),
                     simple(FetchAttribute::body)};
    } else {
        if (!fetch_item(out.items)) return false;
    }
    if (lex.at_end()) return true;
    // fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
    if (!sp() || !lex.take('(')) return fail("expected \"(\" before FETCH modifiers");
    while (true) {
        if (lex.take_word("CHANGEDSINCE", is_word_char)) {
            if (out.changed_since) return fail("CHANGEDSINCE given twice");
            std::uint64_t modseq = 0;
            if (!sp() || !mod_sequence(modseq, false)) return false;
            out.changed_since = modseq;
        } else if (lex.take_word("VANISHED", is_word_char)) {
            out.vanished = true;
        } else {
            return fail("unknown FETCH modifier " + quote_for_error(lex.atom()));
        }
        if (lex.take(')')) break;
        if (!sp()) return false;
    }
    // RFC 7162 3.2.6: VANISHED only in UID FETCH, and only with CHANGEDSINCE.
    if (out.vanished && (!uid || !out.changed_since)) return fail("VANISHED needs UID FETCH and CHANGEDSINCE");
    // RFC 7162 3.1.4.1: CHANGEDSINCE implies the MODSEQ data item.
    if (out.changed_since) {
        bool has_modseq = false;
        for (const FetchItem& item : out.items) has_modseq = has_modseq || item.attribute == FetchAttribute::modseq;
        if (!has_modseq) out.items.push_back(simple(FetchAttribute::modseq));
    }
    return end();
}

}  // namespace hikyaku::imap::detail

namespace hikyaku::imap {

std::optional<Section> parse_section_spec(std::string_view spec, const GrammarLimits& limits, std::string* error) {
    // The FETCH grammar reads it between brackets, as it stands in BODY[...]; a "]" inside
    // ends it early and what follows is refused as trailing text.
    FramedCommand framed;
    framed.lines.front() = "[" + std::string(spec) + "]";
    detail::Parser p(framed, limits);
    Section out;
    if (p.section(out, false) && p.end()) return out;
    if (error) *error = p.error.empty() ? "invalid section" : p.error;
    return std::nullopt;
}

}  // namespace hikyaku::imap
