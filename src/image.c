/*
 * image.c: releasing image records and lists of them.
 */
#include <stdlib.h>
#include <string.h>

#include "image.h"

void bp_image_clear(struct bp_image *image)
{
    if (image == NULL)
        return;
    free(image->filename);
    free(image->description);
    free(image->content_type);
    free(image->data_json);
    memset(image, 0, sizeof(*image));
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
