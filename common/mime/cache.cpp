// cache.cpp: the serialized form of a ParsedMessage that the store keeps beside each message
// (encode_cache / decode_cache in message.h).
//
// Layout (version 1): "HKMC", version byte, then the message: unsigned LEB128 varints for
// numbers, varint length + bytes for strings, a 0/1 byte before optional values, a count
// before lists. Parts are written depth first.
// decode_cache must never: trust a length, count or offset from the blob (it comes from
// disk), read past the blob, recurse deeper than kMaxCacheDepth, or accept a tree whose
// offsets point outside the message (imapd serves BODY[section] straight from them).
#include <cstdint>
#include <string>
#include <string_view>

#include "common/mime/message.h"

namespace hikyaku::mime {
namespace {

constexpr std::string_view kMagic = "HKMC";
constexpr std::uint8_t kVersion = 1;
// Deeper than any tree parse_message builds with sane limits (ParseLimits::max_depth is 100
// by default; each level is at most two nested parts here).
constexpr std::size_t kMaxCacheDepth = 1024;
// Each of the 20 fields Writer::part() writes takes at least one byte.
constexpr std::size_t kMinPartBytes = 20;

class Writer {
public:
    void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
    void number(std::uint64_t v) {
        while (v >= 0x80) {
            byte(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        byte(static_cast<std::uint8_t>(v));
    }
    void string(std::string_view s) {
        number(s.size());
        out_.append(s);
    }
    void optional(const std::optional<std::string>& s) {
        byte(s ? 1 : 0);
        if (s) string(*s);
    }
    void params(const std::vector<Param>& ps) {
        number(ps.size());
        for (const Param& p : ps) {
            string(p.name);
            string(p.value);
        }
    }
    void addresses(const std::vector<Address>& list) {
        number(list.size());
        for (const Address& a : list) {
            byte(static_cast<std::uint8_t>((a.name ? 1 : 0) | (a.route ? 2 : 0) | (a.mailbox ? 4 : 0) |
                                           (a.host ? 8 : 0)));
            if (a.name) string(*a.name);
            if (a.route) string(*a.route);
            if (a.mailbox) string(*a.mailbox);
            if (a.host) string(*a.host);
        }
    }
    void envelope(const Envelope& e) {
        optional(e.date);
        optional(e.subject);
        addresses(e.from);
        addresses(e.sender);
        addresses(e.reply_to);
        addresses(e.to);
        addresses(e.cc);
        addresses(e.bcc);
        optional(e.in_reply_to);
        optional(e.message_id);
    }
    void part(const Part& p) {
        byte(static_cast<std::uint8_t>(p.kind));
        number(p.header_offset);
        number(p.header_size);
        number(p.body_offset);
        number(p.body_size);
        number(p.body_lines);
        string(p.type);
        string(p.subtype);
        byte(p.content_type_present ? 1 : 0);
        params(p.params);
        optional(p.id);
        optional(p.description);
        optional(p.encoding);
        optional(p.disposition);
        params(p.disposition_params);
        number(p.language.size());
        for (const std::string& l : p.language) string(l);
        optional(p.location);
        optional(p.md5);
        byte(p.envelope ? 1 : 0);
        if (p.envelope) envelope(*p.envelope);
        number(p.children.size());
        for (const Part& c : p.children) part(c);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}

    bool ok() const { return ok_; }
    bool at_end() const { return p_ == in_.size(); }
    std::size_t remaining() const { return in_.size() - p_; }
    void fail() { ok_ = false; }

    std::uint8_t byte() {
        if (!ok_ || p_ >= in_.size()) {
            ok_ = false;
            return 0;
        }
        return static_cast<std::uint8_t>(in_[p_++]);
    }
    std::uint64_t number() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            std::uint8_t b = byte();
            if (!ok_) return 0;
            std::uint64_t bits = b & 0x7f;
            if (shift == 63 && bits > 1) break;  // would overflow 64 bits
            v |= bits << shift;
            if ((b & 0x80) == 0) return v;
        }
        ok_ = false;
        return 0;
    }
    std::size_t size() {
        std::uint64_t v = number();
        if (v > SIZE_MAX) ok_ = false;
        return ok_ ? static_cast<std::size_t>(v) : 0;
    }
    // A count of items each taking at least min_bytes of the blob: never more than what is
    // left can hold, so a corrupt count cannot make us allocate much beyond the blob's size.
    std::size_t count(std::size_t min_bytes) {
        std::size_t n = size();
        if (n > remaining() / min_bytes) ok_ = false;
        return ok_ ? n : 0;
    }
    std::string string() {
        std::size_t n = size();
        if (!ok_ || n > remaining()) {
            ok_ = false;
            return {};
        }
        std::string s(in_.substr(p_, n));
        p_ += n;
        return s;
    }
    bool flag() {
        std::uint8_t b = byte();
        if (b > 1) ok_ = false;
        return b == 1;
    }
    std::optional<std::string> optional() {
        if (!flag() || !ok_) return std::nullopt;
        return string();
    }
    std::vector<Param> params() {
        std::vector<Param> ps(count(2));  // two lengths
        for (Param& p : ps) {
            p.name = string();
            p.value = string();
            if (!ok_) return {};
        }
        return ps;
    }
    std::vector<Address> addresses() {
        std::vector<Address> list(count(1));  // the mask
        for (Address& a : list) {
            std::uint8_t mask = byte();
            if (mask > 15) ok_ = false;
            if (!ok_) return {};
            if (mask & 1) a.name = string();
            if (mask & 2) a.route = string();
            if (mask & 4) a.mailbox = string();
            if (mask & 8) a.host = string();
        }
        return list;
    }
    Envelope envelope() {
        Envelope e;
        e.date = optional();
        e.subject = optional();
        e.from = addresses();
        e.sender = addresses();
        e.reply_to = addresses();
        e.to = addresses();
        e.cc = addresses();
        e.bcc = addresses();
        e.in_reply_to = optional();
        e.message_id = optional();
        return e;
    }
    // Reads one part and checks it against the message size and its parent's extent.
    void part(Part& p, std::size_t message_size, std::size_t begin, std::size_t end, std::size_t depth) {
        if (depth > kMaxCacheDepth) {
            ok_ = false;
            return;
        }
        std::uint8_t kind = byte();
        if (kind > static_cast<std::uint8_t>(PartKind::message)) ok_ = false;
        p.kind = static_cast<PartKind>(kind);
        p.header_offset = size();
        p.header_size = size();
        p.body_offset = size();
        p.body_size = size();
        p.body_lines = size();
        if (!ok_) return;
        // Every range inside the parent's, the body right after the header.
        if (p.header_offset < begin || p.header_offset > end || p.header_size > end - p.header_offset ||
            p.body_offset != p.header_offset + p.header_size || p.body_size > end - p.body_offset ||
            p.body_lines > p.body_size || end > message_size) {
            ok_ = false;
            return;
        }
        p.type = string();
        p.subtype = string();
        p.content_type_present = flag();
        p.params = params();
        p.id = optional();
        p.description = optional();
        p.encoding = optional();
        p.disposition = optional();
        p.disposition_params = params();
        std::size_t languages = count(1);
        for (std::size_t i = 0; i < languages && ok_; ++i) p.language.push_back(string());
        p.location = optional();
        p.md5 = optional();
        if (flag()) p.envelope = envelope();
        std::size_t children = count(kMinPartBytes);
        if (!ok_) return;
        // A leaf has no children, an encapsulated message exactly one (with its envelope).
        if ((p.kind == PartKind::leaf && children != 0) ||
            (p.kind == PartKind::message && (children != 1 || !p.envelope)) ||
            (p.kind != PartKind::message && p.envelope)) {
            ok_ = false;
            return;
        }
        p.children.resize(children);
        std::size_t body_end = p.body_offset + p.body_size;
        for (Part& c : p.children) {
            part(c, message_size, p.body_offset, body_end, depth + 1);
            if (!ok_) return;
        }
    }

private:
    std::string_view in_;
    std::size_t p_ = 0;
    bool ok_ = true;
};

}  // namespace

std::string encode_cache(const ParsedMessage& message) {
    Writer w;
    for (char c : kMagic) w.byte(static_cast<std::uint8_t>(c));
    w.byte(kVersion);
    w.number(message.size);
    w.number(message.degraded);
    w.number(message.headers.size());
    for (const HeaderField& f : message.headers) {
        w.string(f.name);
        w.string(f.value);
        w.number(f.offset);
        w.number(f.size);
    }
    w.envelope(message.envelope);
    w.part(message.root);
    return w.take();
}

Result<ParsedMessage> decode_cache(std::string_view blob) {
    if (blob.size() < kMagic.size() + 1 || blob.substr(0, kMagic.size()) != kMagic)
        return make_error(Errc::invalid_argument, "MIME cache: bad magic");
    if (static_cast<std::uint8_t>(blob[kMagic.size()]) != kVersion)
        return make_error(Errc::unsupported, "MIME cache: unknown version");
    Reader r(blob.substr(kMagic.size() + 1));
    ParsedMessage m;
    m.size = r.size();
    std::uint64_t degraded = r.number();
    if (degraded > UINT32_MAX) r.fail();
    m.degraded = static_cast<std::uint32_t>(degraded);
    std::size_t headers = r.count(4);  // two lengths, two numbers
    m.headers.reserve(headers);
    for (std::size_t i = 0; i < headers && r.ok(); ++i) {
        HeaderField f;
        f.name = r.string();
        f.value = r.string();
        f.offset = r.size();
        f.size = r.size();
        if (f.offset > m.size || f.size > m.size - f.offset) r.fail();
        m.headers.push_back(std::move(f));
    }
    m.envelope = r.envelope();
    if (r.ok()) r.part(m.root, m.size, 0, m.size, 0);
    if (r.ok() && (m.root.header_offset != 0 || !r.at_end())) r.fail();
    if (!r.ok()) return make_error(Errc::invalid_argument, "MIME cache: corrupt or truncated");
    return m;
}

}  // namespace hikyaku::mime
