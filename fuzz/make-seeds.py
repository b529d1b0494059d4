#!/usr/bin/env python3
"""Writes the synthetic seeds of fuzz/corpus (DOCX, ODT, EPUB, host, c_abi): python3 fuzz/make-seeds.py fuzz/corpus"""
import io, os, sys, zipfile
out = sys.argv[1]
for d in ('docx', 'odt', 'epub', 'zip', 'host'):
    os.makedirs(f'{out}/{d}', exist_ok=True)
def z(entries):
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w') as f:
        for n, d in entries:
            comp = zipfile.ZIP_STORED if n == 'mimetype' else zipfile.ZIP_DEFLATED
            info = zipfile.ZipInfo(n, (2024, 5, 1, 12, 0, 0))  # fixed: same bytes every run
            info.compress_type = comp
            f.writestr(info, d)
    return b.getvalue()
W='xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
styles=f'''<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles {W}><w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/></w:style><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Heading1"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style><w:style w:type="paragraph" w:styleId="Loop"><w:basedOn w:val="Loop"/></w:style></w:styles>'''
doc=f'''<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>
<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>Heat pump report</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Findings</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">The defrost cycle runs every </w:t></w:r><w:r><w:t>forty minutes</w:t><w:tab/><w:t>below two degrees.</w:t><w:br/><w:t>Next line</w:t><w:noBreakHyphen/><w:t>x</w:t></w:r><w:del><w:r><w:delText>gone</w:delText></w:r></w:del></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>Numbers &amp; table</w:t></w:r></w:p>
<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>First item</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Day</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>kWh</w:t></w:r></w:p></w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>1</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>12.5</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/></w:docPartObj></w:sdtPr><w:sdtContent><w:p><w:r><w:t>Contents 1</w:t></w:r></w:p></w:sdtContent></w:sdt>
<w:p><w:pPr><w:outlineLvl w:val="2"/></w:pPr><w:r><w:instrText>PAGE</w:instrText><w:t>Direct outline heading</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Loop"/></w:pPr><w:r><w:t>Looping style, text kept.</w:t></w:r></w:p>
</w:body></w:document>'''
core='''<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Heat pump</dc:title><dc:creator>A. Engineer</dc:creator><dc:subject>Heating</dc:subject><cp:keywords>heat pump, defrost</cp:keywords></cp:coreProperties>'''
ct='<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
rels='<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
open(f'{out}/docx/report.docx','wb').write(z([('[Content_Types].xml',ct),('_rels/.rels',rels),('word/document.xml',doc),('word/styles.xml',styles),('docProps/core.xml',core)]))
open(f'{out}/docx/minimal.docx','wb').write(z([('[Content_Types].xml','<Types/>'),('word/document.xml',f'<w:document {W}><w:body><w:p><w:r><w:t>Only text</w:t></w:r></w:p></w:body></w:document>')]))
O='xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
content=f'''<?xml version="1.0" encoding="UTF-8"?><office:document-content {O}><office:body><office:text><text:sequence-decls><text:sequence-decl text:name="Figure"/></text:sequence-decls><text:tracked-changes><text:changed-region><text:p>old</text:p></text:changed-region></text:tracked-changes>
<text:table-of-content><text:index-body><text:p>Beekeeping 1</text:p></text:index-body></text:table-of-content>
<text:h text:outline-level="1">Beekeeping</text:h><text:p>Swarm cells<text:s text:c="3"/>along the frame<text:tab/>bottom<text:line-break/>mean the colony will swarm.<text:note><text:note-body><text:p>A footnote.</text:p></text:note-body></text:note></text:p>
<text:h text:outline-level="2">Inspections</text:h><text:list><text:list-item><text:p>Check the brood</text:p></text:list-item><text:list-item><text:list><text:list-item><text:p>nested</text:p></text:list-item></text:list></text:list-item></text:list>
<table:table><table:table-row><table:table-cell><text:p>Hive</text:p></table:table-cell><table:table-cell><text:p>Frames</text:p></table:table-cell></table:table-row></table:table>
<text:h text:outline-level="x">Bad level</text:h><text:p>Café — ünïcödé 蜂蜜</text:p></office:text></office:body></office:document-content>'''
meta='<?xml version="1.0"?><office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"><office:meta><dc:title>Bees</dc:title><dc:subject>Hives</dc:subject><meta:keyword>bees</meta:keyword><meta:initial-creator>K</meta:initial-creator></office:meta></office:document-meta>'
open(f'{out}/odt/bees.odt','wb').write(z([('mimetype','application/vnd.oasis.opendocument.text'),('content.xml',content),('meta.xml',meta),('META-INF/manifest.xml','<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')]))
container='<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>'
opf='''<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:x</dc:identifier><dc:title>The Lighthouse Keeper</dc:title><dc:creator>Anon</dc:creator><dc:language>en</dc:language><dc:subject>sea</dc:subject></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c1" href="text/c1.xhtml" media-type="application/xhtml+xml"/><item id="c2" href="text/c%202.xhtml" media-type="application/xhtml+xml"/><item id="css" href="s.css" media-type="text/css"/></manifest><spine><itemref idref="nav" linear="no"/><itemref idref="c1"/><itemref idref="c2"/><itemref idref="missing"/></spine></package>'''
nav='<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol><li><a href="text/c1.xhtml">Arrival</a></li></ol></nav></body></html>'
c1='<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head><title>Arrival</title></head><body><h1>Arrival</h1><p>The keeper arrived with three crates of <em>paraffin</em>.</p><ul><li>lamp</li><li>wick</li></ul><p><a href="c%202.xhtml#storm">next</a> &amp; &nbsp;&#x263A;</p></body></html>'
c2='<html xmlns="http://www.w3.org/1999/xhtml"><body><h1 id="storm">Storm</h1><h2>Night</h2><p>During the storm the lens turned all night.</p><table><tr><td>a</td><td>b</td></tr></table><pre>code  kept</pre></body></html>'
open(f'{out}/epub/lighthouse.epub','wb').write(z([('mimetype','application/epub+zip'),('META-INF/container.xml',container),('OEBPS/content.opf',opf),('OEBPS/nav.xhtml',nav),('OEBPS/text/c1.xhtml',c1),('OEBPS/text/c 2.xhtml',c2),('OEBPS/s.css','p{}')]))
open(f'{out}/epub/walden.epub', 'wb').write(z([
    ('mimetype', 'application/epub+zip'),
    ('META-INF/container.xml', '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>'),
    ('content.opf', '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="2.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Walden</dc:title><dc:subject>woods</dc:subject></metadata><manifest><item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/><item id="p1" href="p1.html" media-type="application/xhtml+xml"/></manifest><spine toc="ncx"><itemref idref="p1"/><itemref idref="p1"/></spine></package>'),
    ('toc.ncx', '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap><navPoint><navLabel><text>Economy</text></navLabel><content src="p1.html"/></navPoint></navMap></ncx>'),
    ('p1.html', '<html><head><meta charset="utf-8"><title>Economy</title></head><body><h2>Economy</h2><p>When I wrote the following pages I lived alone, in the woods, a mile from any neighbor.</p><p>Second paragraph &mdash; with an entity.</p></body></html>'),
]))
for d in ('docx', 'odt', 'epub'):
    for n in os.listdir(f'{out}/{d}'):
        if not n.startswith('docutils'):
            open(f'{out}/zip/{n}', 'wb').write(open(f'{out}/{d}/{n}', 'rb').read())

for n, parts in {
    "groceries": ("Groceries", '{"tags":["home","food/vegan"],"source":"notes-app","n":[1.5,null,{"a":true}]}', "# Groceries\n\nOat milk, lentils. #shopping\n"),
    "front-matter": ("", '{"aliases":"Kettle, Pot","tags":"#one, two three"}', "---\ntags: [old]\nauthor: me\naliases: [Old]\n---\n# Heading\n\nBody [[Link|alias]] ^id1\n"),
    "empty": ("t", "", "  \n"),
    "bad-json": ("T", "{not json", "text"),
}.items():
    open(f"{out}/host/{n}", "wb").write("\0".join(parts).encode())
import ctypes as C
P=C.c_void_p; S=C.c_size_t; U=C.c_uint32; F=C.c_float; B=C.c_uint8
class Eng(C.Structure): _fields_=[("struct_size",U),("threads",U),("context_size",U),("reembed",B),("llm_path",P),("embedding_path",P)]
class Search(C.Structure): _fields_=[("struct_size",U),("k",U),("mode",U),("one_per_document",B),("path_prefix",P),("tags",P),("tag_count",S),("document_ids",P),("document_id_count",S)]
class Ask(C.Structure): _fields_=[("struct_size",U),("k",U),("mode",U),("max_tokens",U),("temperature",F),("seed",U),("path_prefix",P),("tags",P),("tag_count",S),("document_ids",P),("document_id_count",S),("cancel",P),("strategy",U),("min_grounding",F),("never_decline",B),("min_draft_support",F)]
class Note(C.Structure): _fields_=[("struct_size",U),("id",P),("id_len",S),("title",P),("title_len",S),("text",P),("text_len",S),("metadata_json",P),("metadata_json_len",S)]
NT=2**64-1
cabi = f"{out}/c_abi"; os.makedirs(cabi, exist_ok=True)
def seed(name, sel, st, texts):
    st.struct_size=C.sizeof(st)
    raw=bytes(st)
    open(f"{cabi}/{name}","wb").write(bytes([sel])+raw+b"\xff".join(texts))
seed("engine",0,Eng(threads=2,context_size=4096,reembed=1,llm_path=1,embedding_path=1),[b"models/a.gguf",b"models/e5.gguf"])
seed("engine-defaults",0,Eng(),[])
seed("search",1,Search(k=5,mode=2,one_per_document=1,path_prefix=1,tags=1,tag_count=2,document_ids=1,document_id_count=1),[b"notes/",b"garden",b"home/kitchen"])
seed("search-bad-mode",1,Search(mode=7,tags=0,tag_count=3),[])
seed("ask",2,Ask(k=3,mode=0,max_tokens=64,temperature=0.5,seed=1,path_prefix=1,tags=1,tag_count=1,strategy=2,min_grounding=0.3,never_decline=1,min_draft_support=0.6),[b"notes/",b"tag"])
seed("ask-bad-share",2,Ask(min_grounding=1.5,strategy=9),[])
seed("note",3,Note(id=1,id_len=NT,title=1,title_len=5,text=1,text_len=NT,metadata_json=1,metadata_json_len=NT),[b"note-42",b"Groceries",b"# Groceries\n\nOat milk.",b'{"tags":["home"]}'])
seed("note-bad-utf8",3,Note(id=1,id_len=3,text=1,text_len=NT,metadata_json=1,metadata_json_len=4),[b"a\xc3",b"text",b"[1,2]"])
