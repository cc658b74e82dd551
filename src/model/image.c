/*
 * image.c: releasing image records and lists of them, and the state
 * of an image's file.
 */
#include <stdlib.h>
#include <string.h>

#include "model/image.h"

void bp_image_clear(struct bp_image *image)
{
    if (image == NULL)
        return;
    free(image->filename);
    free(image->description);
    free(image->content_type);
    free(image->data_json);
    free(image->upload_filename);
    memset(image, 0, sizeof(*image));
}

bool bp_image_upload_awaited(const struct bp_image *image)
{
    return image->upload_expires_at != 0;
}

bool bp_image_has_file(const struct bp_image *image)
{
    return image->sha256[0] != '\0';
}

struct bp_image *bp_image_list_add(struct bp_image_list *list)
{
    if (list->count == list->cap) {
        size_t cap = list->cap < 16 ? 16 : list->cap * 2;
        struct bp_image *grown = realloc(list->items, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        list->items = grown;
        list->cap = cap;
    }
    struct bp_image *image = &list->items[list->count++];
    memset(image, 0, sizeof(*image));
    return image;
}

void bp_image_list_free(struct bp_image_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        bp_image_clear(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}
