-- Every prefecture-level city and municipality (and each county-level unit a province administers directly,
-- such as 仙桃 or 石河子, which pools social insurance on its own), in the region table's short form, with its
-- province (short, as ref.regions.province) and 6-digit administrative-division code. Filled from
-- warehouse/reference/divisions.csv by warehouse.reference.refresh_cities wherever ref.regions is refreshed.
CREATE TABLE ref.cities (
    city VARCHAR PRIMARY KEY,
    province VARCHAR NOT NULL,
    adcode VARCHAR NOT NULL
);
